"""Ambient backlog and limiter work that is not per record: loading, repair, compaction
(and the record-by-record reads and array_body() the app's flushes no longer use).

ambient._rare() imports this module for one call and drops it again, so in
the steady state (add, peek, drop) its bytecode is not in the device's heap.
b is the Backlog, lim the Limiter (see lib/ambient.py for the file format).
"""

import json
import os


def load(b):
    """(Re)read the file: count live records, find the head, repair a torn tail."""
    b._n = b._head = b._size = 0
    b._peek = None
    total = acked = 0
    clean = True
    tmp = b.path + ".tmp"
    try:
        f = open(b.path, "rb")
        try:  # a copy left by a compaction that lost power before the rename
            os.remove(tmp)
        except OSError:
            pass
    except OSError:
        try:  # lost power between FAT's remove and rename: the copy is whole
            os.rename(tmp, b.path)
            f = open(b.path, "rb")
        except OSError:
            return
    with f:
        while True:
            line = f.readline()
            if not line:
                break
            b._size += len(line)
            if _is_record(line):
                total += 1
            else:
                k = _ack(line)
                if k:
                    acked += k
                else:
                    clean = False
    acked = min(acked, total)
    b._n = total - acked
    if not clean or not b._n:
        rewrite(b, 0, acked, True)
    elif acked:
        b._head = skip_records(b, 0, acked)


def skip_records(b, offset, n):
    """Byte offset just past the next n record lines from offset."""
    with open(b.path, "rb") as f:
        f.seek(offset)
        while n > 0:
            line = f.readline()
            if not line:
                break
            if line[:1] == b"{":
                n -= 1
        return f.tell()


def rewrite(b, start, skip, validate):
    """Copy the records after offset start, less the first `skip`, to path.tmp; rename it over."""
    b._peek = None
    tmp = b.path + ".tmp"
    kept = 0
    todo = skip
    try:
        with open(b.path, "rb") as src, open(tmp, "wb") as dst:
            src.seek(start)
            while True:
                line = src.readline()
                if not line:
                    break
                if _is_record(line) if validate else line[:1] == b"{":
                    if todo > 0:
                        todo -= 1
                    else:
                        dst.write(line)
                        kept += 1
        if kept:
            os.rename(tmp, b.path)
        else:
            os.remove(tmp)
            os.remove(b.path)
    except OSError:
        b.errors += 1  # the old file is still whole: go on with it
        if validate:
            b._head = skip_records(b, 0, skip)
        return
    b._n = kept
    b._head = 0
    b._size = _filesize(b)


def _filesize(b):
    try:
        return os.stat(b.path)[6]
    except OSError:
        return 0


def _is_record(line):
    """True for a complete JSON object line (bytes ending in newline)."""
    if not line.endswith(b"\n") or line[:1] != b"{":
        return False
    try:
        return type(json.loads(line)) is dict
    except ValueError:
        return False


def _ack(line):
    """N for a complete "-N" line, else 0."""
    if line.endswith(b"\n") and line[:1] == b"-":
        try:
            return max(0, int(line[1:]))
        except ValueError:
            return 0
    return 0


def restore(lim, state):
    """Undo state(); ignores anything malformed."""
    k = len(lim._offsets)
    if type(state) is not list or len(state) != 1 + 2 * k:
        return
    for v in state:
        if v is not None and type(v) not in (int, float):
            return
    lim._last = state[0]
    lim._roll_at = None
    lim._days = [int(d if d is not None else -1) for d in state[1 : 1 + k]]
    lim._counts = [int(c or 0) for c in state[1 + k :]]


def read(b, n, raw):
    """Backlog.peek() (raw False: dicts) and peek_lines() (raw True: JSON bytes)."""
    out = []
    n = min(n, b._n)
    if n <= 0:
        return out
    with open(b.path, "rb") as f:
        f.seek(b._head)
        while len(out) < n:
            line = f.readline()
            if not line:
                break
            if line[:1] == b"{":
                out.append(line[:-1] if raw else json.loads(line))
        b._peek = (len(out), f.tell())
    return out


def array_body(write_key, records):
    """ambient.array_body()."""
    import ambient

    parts = [ambient.array_head(write_key)]
    first = True
    for r in records:
        if not first:
            parts.append(b",")
        first = False
        if type(r) is bytes:
            parts.append(r)
        elif type(r) is str:
            parts.append(r.encode())
        else:
            parts.append(ambient._dumps(r).encode())
    parts.append(b"]}")
    return b"".join(parts)
