"""Backlog and limiter work that is not per record: loading, repair, compaction, a saved state.

Loaded by lib/lazy.py for one call and dropped again, so in the steady state
(add, peek_body, drop) its bytecode is not in the device's heap. It knows the
backlog file format (lib/ambient/backlog.py), not the objects: each function
takes the file path and the figures it needs, and the backlog ones return
(records, head offset, file size, errors) for Backlog to keep.
"""

import json
import os


def load(path):
    """Replay the file: count live records, find the head, repair a torn or garbled file."""
    total = acked = 0
    clean = True
    tmp = path + ".tmp"
    try:
        f = open(path, "rb")
        try:  # a copy left by a compaction that lost power before the rename
            os.remove(tmp)
        except OSError:
            pass
    except OSError:
        try:  # lost power between FAT's remove and rename: the copy is whole
            os.rename(tmp, path)
            f = open(path, "rb")
        except OSError:
            return 0, 0, 0, 0
    size = 0
    with f:
        while True:
            line = f.readline()
            if not line:
                break
            size += len(line)
            if _is_record(line):
                total += 1
            else:
                k = _ack(line)
                if k:
                    acked += k
                else:
                    clean = False
    acked = min(acked, total)
    n = total - acked
    if not clean or not n:
        r = _rewrite(path, 0, acked, True)
        if r is None:  # the old file is still whole: go on with it
            return n, skip(path, 0, acked), size, 1
        return r[0], 0, r[1], 0
    return n, skip(path, 0, acked) if acked else 0, size, 0


def compact(path, n, head, size):
    """Copy the n live records from offset head to a new file; the old figures if that fails."""
    r = _rewrite(path, head, 0, False)
    if r is None:
        return n, head, size, 1
    return r[0], 0, r[1], 0


def skip(path, offset, n):
    """Byte offset just past the next n record lines from offset."""
    with open(path, "rb") as f:
        f.seek(offset)
        while n > 0:
            line = f.readline()
            if not line:
                break
            if line[:1] == b"{":
                n -= 1
        return f.tell()


def _rewrite(path, start, gone, validate):
    """Copy the records after offset start, less the first `gone`, to path.tmp and rename it
    over path (or remove both when none is left): (records kept, new size), None on OSError."""
    tmp = path + ".tmp"
    kept = 0
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            src.seek(start)
            while True:
                line = src.readline()
                if not line:
                    break
                if _is_record(line) if validate else line[:1] == b"{":
                    if gone > 0:
                        gone -= 1
                    else:
                        dst.write(line)
                        kept += 1
        if kept:
            os.rename(tmp, path)
        else:
            os.remove(tmp)
            os.remove(path)
    except OSError:
        return None
    try:
        return kept, os.stat(path)[6]
    except OSError:
        return kept, 0


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


def restore(state, k):
    """Limiter.state() of a limiter with k days checked: (last, days, counts), None if malformed."""
    if type(state) is not list or len(state) != 1 + 2 * k:
        return None
    for v in state:
        if v is not None and type(v) not in (int, float):
            return None
    return (
        state[0],
        [int(d if d is not None else -1) for d in state[1 : 1 + k]],
        [int(c or 0) for c in state[1 + k :]],
    )
