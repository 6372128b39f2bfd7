"""A small JSON key-value file on flash (PAN descriptor, baseline, dialect).

Store(path): get/set/delete in RAM; save() writes only when something
changed, atomically: path + ".tmp" first, then a rename over the old file,
so a power cut leaves either the old or the new file. A missing or corrupt
file gives an empty store, never an exception. Values: JSON types (tuples
come back as lists).
"""

import json
import os


def _load(path):
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else None
    except Exception:  # missing, unreadable or corrupt: MicroPython raises various types
        return None


class Store:
    def __init__(self, path):
        self.path = path
        self.dirty = False
        data = _load(path)
        if data is None:
            # a crash between removing the old file and the rename leaves only .tmp
            data = _load(path + ".tmp") or {}
        self._data = data

    def get(self, key, default=None):
        return self._data.get(key, default)

    def set(self, key, value):
        """Set key; marks the store dirty only when the value changed."""
        if self._data.get(key) != value or key not in self._data:
            self._data[key] = value
            self.dirty = True

    def delete(self, key):
        if key in self._data:
            del self._data[key]
            self.dirty = True

    def save(self):
        """Write the file if dirty; True when written (or nothing to write)."""
        if not self.dirty:
            return True
        tmp = self.path + ".tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(self._data, f)
            try:
                os.rename(tmp, self.path)
            except OSError:  # a file system whose rename does not replace
                os.remove(self.path)
                os.rename(tmp, self.path)
        except Exception:  # flash full or failing: keep the old file, stay dirty
            try:
                os.remove(tmp)
            except Exception:
                pass
            return False
        self.dirty = False
        return True
