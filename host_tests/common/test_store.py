"""store.Store on CPython and MicroPython: atomic writes, failures, corrupt files (plain asserts).

Run by pytest and by tools/mptest.py (`make test-mp`, `make test-mp32`). File-system failures are
staged by handing lib/store.py stand-ins for its os and json modules.
"""

import json
import os

import store
from testkit import tmp


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _read(p):
    with open(p) as f:
        return json.load(f)


class _Os:
    """lib/store.py's view of os: rename replaced, remove real."""

    def __init__(self, rename):
        self.rename = rename
        self.remove = os.remove


class _Json:
    """lib/store.py's view of json: dump replaced, load real."""

    def __init__(self, dump):
        self.dump = dump
        self.load = json.load


def _with(name, stand_in, fn):
    real = getattr(store, name)
    setattr(store, name, stand_in)
    try:
        return fn()
    finally:
        setattr(store, name, real)


def test_roundtrip_and_dirty():
    p = tmp("sm_store_a.json")
    s = store.Store(p)
    assert s.get("pan") is None and s.get("x", 5) == 5 and not s.dirty
    s.set("pan", {"channel": "2F", "pan_id": "A0E6"})
    s.set("baseline", [2024, 11, 5, 123456, None, 2024, 11, 22])
    assert s.dirty
    assert s.save() and not s.dirty
    s.set("pan", {"channel": "2F", "pan_id": "A0E6"})  # unchanged: nothing to write
    assert not s.dirty
    t = store.Store(p)
    assert t.get("pan") == {"channel": "2F", "pan_id": "A0E6"}
    assert t.get("baseline") == [2024, 11, 5, 123456, None, 2024, 11, 22]
    t.delete("pan")
    t.delete("missing")
    assert t.save()
    assert store.Store(p).get("pan") is None


def test_corrupt_or_missing_file_gives_an_empty_store():
    p = tmp("sm_store_b.json")
    assert store.Store(p).get("a") is None
    junks = (b"", b"{", b"{not json", b"null", b"[]", b"[1, 2]", b"\x00\xff", b"\xff\xfe", b'{"a": 1}' * 3)
    for junk in junks:
        with open(p, "wb") as f:
            f.write(junk)
        s = store.Store(p)
        assert s.get("a") is None and s.get("a", 7) == 7, junk
        s.set("a", 1)
        assert s.save()
        assert store.Store(p).get("a") == 1


def test_recovers_from_an_interrupted_save():
    p = tmp("sm_store_c.json")
    with open(p + ".tmp", "w") as f:  # the rename never happened, the old file is gone
        f.write('{"a": 2}')
    assert store.Store(p).get("a") == 2


def test_failed_save_keeps_the_old_file():
    p = tmp("sm_store_d.json")
    s = store.Store(p)
    s.set("a", 1)
    assert s.save()
    bad = store.Store(tmp("no_such_dir_sm") + "/x.json")
    bad.set("a", 1)
    assert bad.save() is False and bad.dirty
    assert store.Store(p).get("a") == 1


def test_save_writes_tmp_then_renames():
    p = tmp("sm_store_e.json")
    s = store.Store(p)
    s.set("a", 1)
    assert s.save()
    calls = []
    seen = []

    def spy(a, b):
        calls.append((a, b))
        seen.append((_read(a), _read(b)))  # the new file is complete before it replaces the old one
        os.rename(a, b)

    s.set("a", 2)
    assert _with("os", _Os(spy), s.save)
    assert calls == [(p + ".tmp", p)]
    assert seen == [({"a": 2}, {"a": 1})]
    assert not _exists(p + ".tmp") and _read(p) == {"a": 2}


def test_rename_that_does_not_replace():
    p = tmp("sm_store_f.json")
    s = store.Store(p)
    s.set("a", 1)
    assert s.save()
    refused = []

    def fat_rename(a, b):  # like a file system that refuses to overwrite
        if _exists(b):
            refused.append(b)
            raise OSError(17)
        os.rename(a, b)

    s.set("a", 3)
    assert _with("os", _Os(fat_rename), s.save)
    assert refused == [p]
    assert store.Store(p).get("a") == 3 and not _exists(p + ".tmp")


def test_write_failure_keeps_the_old_file_and_stays_dirty():
    p = tmp("sm_store_g.json")
    s = store.Store(p)
    s.set("a", 1)
    assert s.save()

    def full(obj, f):
        f.write('{"a": ')
        raise OSError(28)  # no space left

    s.set("a", 2)
    assert _with("json", _Json(full), s.save) is False
    assert s.dirty and not _exists(p + ".tmp")
    assert store.Store(p).get("a") == 1
    assert s.save() and store.Store(p).get("a") == 2


def test_save_without_changes_does_not_touch_flash():
    p = tmp("sm_store_h.json")
    s = store.Store(p)
    s.set("a", [1, 2])
    assert s.save()
    renames = []
    s2 = store.Store(p)
    s2.set("a", [1, 2])
    assert _with("os", _Os(lambda a, b: renames.append(a)), s2.save)
    assert renames == [] and not s2.dirty
