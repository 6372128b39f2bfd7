"""ambient.backlog: the flash file of records waiting to be sent (pytest and tools/mptest.py).

The file format is checked with a reader of its own (_stored): JSON lines, "-N" drops the N
oldest records. Records are read back the way the app reads them: Backlog.peek_body().
"""

import json
import os

import testkit
from ambient import backlog, record
from ambient.backlog import Backlog

KEY = "0123456789abcdef"
HEAD = record.array_head(KEY)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _size(path):
    return os.stat(path)[6]


class _Dir:
    """A scratch folder: `with _Dir() as d: ... d + "/name"`."""

    def __enter__(self):
        self.d = testkit.tmpdir()
        return self.d

    def __exit__(self, *exc):
        testkit.rmtree(self.d)


def _rec(i):
    return record.make_record(i / 10, i * 10 - 500, i / 100, i, created_ms=1767225600000 + i * 30000)


def _line(r):
    return json.dumps(r).encode() + b"\n"


def _stored(path):
    """The live records in the file, read by the format alone (not by the Backlog)."""
    if not _exists(path):
        return []
    recs = []
    gone = 0
    with open(path, "rb") as f:
        for line in f.read().split(b"\n"):
            if line[:1] == b"{":
                recs.append(json.loads(line))
            elif line[:1] == b"-":
                gone += int(line[1:])
    return recs[gone:]


def _records(body):
    doc = json.loads(body)
    assert sorted(doc) == ["data", "writeKey"] and doc["writeKey"] == KEY
    return doc["data"]


def _peek(b, n):
    """The oldest n records, read as a flush reads them."""
    body, k = b.peek_body(HEAD, n, 1 << 20)
    return [] if body is None else _records(body)


def test_fifo_and_reboot():
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path, capacity=100)
        assert len(b) == 0 and _peek(b, 5) == [] and not _exists(path)
        for i in range(10):
            assert b.add(_rec(i))
        assert len(b) == 10 and _stored(path) == [_rec(i) for i in range(10)]
        assert _peek(b, 3) == [_rec(0), _rec(1), _rec(2)]
        b.drop(3)  # after a peek: its end offset is the new head
        assert _peek(b, 2) == [_rec(3), _rec(4)]
        assert _stored(path) == [_rec(i) for i in range(3, 10)]
        b2 = Backlog(path, capacity=100)  # reboot
        assert len(b2) == 7 and _peek(b2, 100) == [_rec(i) for i in range(3, 10)]
        b2.drop(4)  # without a peek before
        b3 = Backlog(path, capacity=100)
        assert _peek(b3, 10) == [_rec(i) for i in range(7, 10)]
        b3.drop(50)
        assert len(b3) == 0 and not _exists(path)
        assert len(Backlog(path)) == 0


def test_full_drops_oldest():
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path, capacity=5)
        for i in range(12):
            b.add(_rec(i))
        assert len(b) == 5 and b.dropped == 7
        assert _peek(b, 10) == [_rec(i) for i in range(7, 12)]
        assert _peek(Backlog(path, capacity=5), 10) == [_rec(i) for i in range(7, 12)]
        assert _stored(path) == [_rec(i) for i in range(7, 12)]


def test_compacts():
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path, capacity=100000)
        b.compact_bytes = 4096
        for i in range(200):
            b.add(_rec(i))
        full = _size(path)
        for _ in range(12):
            b.peek_body(HEAD, 10, 1 << 20)
            b.drop(10)
        assert len(b) == 80
        assert _size(path) < full * 0.6  # dead part rewritten away
        assert _peek(b, 2) == [_rec(120), _rec(121)]
        assert _peek(Backlog(path), 400) == [_rec(i) for i in range(120, 200)]
        assert not _exists(path + ".tmp")


def test_torn_last_line():
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path)
        for i in range(4):
            b.add(_rec(i))
        b.drop(1)
        with open(path, "ab") as f:
            f.write(b'{"d1": 1.5, "d2": -0.')  # power lost mid-append
        b2 = Backlog(path)
        assert _peek(b2, 10) == [_rec(1), _rec(2), _rec(3)]
        b2.add(_rec(4))  # appends after the repaired file, not glued to the fragment
        assert _peek(Backlog(path), 10) == [_rec(i) for i in range(1, 5)]
        assert _stored(path) == [_rec(i) for i in range(1, 5)]


def test_garbage_lines():
    with _Dir() as d:
        path = d + "/b.jsonl"
        with open(path, "wb") as f:
            f.write(_line(_rec(0)))
            f.write(b"\x00\x00\x00\n")
            f.write(b"{not json}\n")
            f.write(_line(_rec(1)))
            f.write(b"-1\n")
            f.write(b"-x\n")
            f.write(_line(_rec(2)))
            f.write(b"\xff\xff")
        b = Backlog(path)
        assert len(b) == 2 and _peek(b, 10) == [_rec(1), _rec(2)]
        assert _peek(Backlog(path), 10) == [_rec(1), _rec(2)]
        assert _stored(path) == [_rec(1), _rec(2)]  # rewritten clean


def test_compaction_copy_after_power_loss():
    with _Dir() as d:
        path = d + "/b.jsonl"
        lines = b"".join(_line(_rec(i)) for i in range(3))
        # FAT: the old file was removed, the rename did not happen: the copy is whole
        with open(path + ".tmp", "wb") as f:
            f.write(lines)
        assert _peek(Backlog(path), 10) == [_rec(0), _rec(1), _rec(2)]
        assert not _exists(path + ".tmp")
        # power lost while writing the copy: the file is whole, the copy is stale
        with open(path + ".tmp", "wb") as f:
            f.write(lines[:30])
        b = Backlog(path)
        assert not _exists(path + ".tmp")
        b.drop(3)
        assert not _exists(path)
        assert len(Backlog(path)) == 0  # the stale copy did not come back


def test_only_drop_markers_removes_the_file():
    with _Dir() as d:
        path = d + "/b.jsonl"
        with open(path, "wb") as f:
            f.write(_line(_rec(0)) + b"-1\n")
        b = Backlog(path)
        assert len(b) == 0 and not _exists(path)


def test_peek_body_reads_the_lines_as_stored():
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path)
        assert b.peek_body(HEAD, 5) == (None, 0)
        for i in range(6):
            b.add(_rec(i))
        b.drop(1)  # "-1" follows the six records
        b.add(_rec(6))
        b.peek_body(HEAD, 1)
        b.drop(1)  # "-1" again, between records 6 and 7
        b.add(_rec(7))
        with open(path, "rb") as f:
            stored = f.read()
        assert stored.count(b"\n-1\n") == 2
        body, k = b.peek_body(HEAD, 100)
        assert isinstance(body, bytes) and k == 6
        got = _records(body)
        assert got == [_rec(i) for i in range(2, 8)]  # "-1" lines blanked, order kept
        assert body.startswith(HEAD) and body.endswith(b"]}") and b"\n" not in body
        for line in stored.split(b"\n"):
            if line.startswith(b"{") and json.loads(line) in got:
                assert line in body  # byte for byte: "created" and the values as stored
        b.drop(k)  # the end offset of the peek is used
        assert len(b) == 0 and not _exists(path)


def test_peek_body_limit_and_drop():
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path)
        for i in range(10):
            b.add(_rec(i))
        with open(path, "rb") as f:
            three = len(f.readline()) + len(f.readline()) + len(f.readline())
        body, k = b.peek_body(HEAD, 10, three + 2)
        assert k == 3 and _records(body) == [_rec(0), _rec(1), _rec(2)]
        assert len(body) == len(HEAD) + three + 1
        body, k = b.peek_body(HEAD, 10, three - 1)
        assert k == 2
        body, k = b.peek_body(HEAD, 2, 10000)  # n bounds it too
        assert k == 2 and _records(body) == [_rec(0), _rec(1)]
        body, k = b.peek_body(HEAD, 10, 0)  # one record even when it is over the limit
        assert k == 1 and _records(body) == [_rec(0)]
        b.drop(1)
        body, k = b.peek_body(HEAD, 10)
        b.drop(k)
        assert k == 9 and _records(body) == [_rec(i) for i in range(1, 10)] and len(b) == 0
        # a long run of lines read through the small buffer: lines cross its 64-byte chunks
        for i in range(120):
            b.add(_rec(i))
        got = []
        while len(b):
            body, k = b.peek_body(HEAD, 17, 700)
            assert 1 <= k <= 17
            got += _records(body)
            b.drop(k)
        assert got == [_rec(i) for i in range(120)]


def test_peek_body_after_a_reboot_and_a_torn_tail():
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path)
        for i in range(5):
            b.add(_rec(i))
        b.drop(2)
        with open(path, "ab") as f:
            f.write(b'{"d1": 1.5, "d2": -0.')  # power lost mid-append
        b2 = Backlog(path)  # an existing file, repaired on load
        body, k = b2.peek_body(HEAD, 10)
        assert k == 3 and _records(body) == [_rec(2), _rec(3), _rec(4)]


class _TornWrites:
    """A file whose write of a "-N" marker stops after its first byte and raises (flash full)."""

    def __init__(self, f):
        self.f = f
        self.writes = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        if data[:1] == b"-":
            self.f.write(data[:1])
            raise OSError(28)  # ENOSPC
        return self.f.write(data)


def test_a_torn_drop_marker_loses_nothing():
    """The marker goes in one write: torn, it is a bad line on its own, never glued to a record."""
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path)
        for i in range(3):
            b.add(_rec(i))
        body, k = b.peek_body(HEAD, 1)
        backlog.open = lambda p, m: _TornWrites(open(p, m))
        try:
            b.drop(k)  # sent, but the marker did not reach flash: the record will go again
        finally:
            del backlog.open
        assert b.errors == 1 and len(b) == 3
        b.add(_rec(3))
        sent = []
        while len(b):
            body, k = b.peek_body(HEAD, 2)
            assert k
            sent += _records(body)
            b.drop(k)
        assert sent == [_rec(0), _rec(1), _rec(2), _rec(3)]  # nothing lost, nothing swallowed
        assert not _exists(path)


class _Spy:
    """A file that notes each write."""

    def __init__(self, f, writes):
        self.f = f
        self.writes = writes

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        self.writes.append(bytes(data))
        return self.f.write(data)


def test_a_drop_marker_is_one_write():
    """A short write leaves "-" or "-1" alone on its line, never a marker glued to a record."""
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path)
        for i in range(3):
            b.add(_rec(i))
        b.peek_body(HEAD, 1)
        writes = []
        backlog.open = lambda p, m: _Spy(open(p, m), writes)
        try:
            b.drop(1)
            b.drop(1)  # without a peek
        finally:
            del backlog.open
        assert writes == [b"-1\n", b"-1\n"]


class _FullFlash:
    """A file that takes half of a record line, then raises (flash full)."""

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        raise OSError(28)


def test_a_failed_add_is_counted_and_repaired():
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path)
        b.add(_rec(0))
        backlog.open = lambda p, m: _FullFlash(open(p, m))
        try:
            assert not b.add(_rec(1))
        finally:
            del backlog.open
        assert b.errors == 1 and b.dropped == 1 and len(b) == 1
        assert b.add(_rec(2))  # after the repaired file, not glued to the fragment
        assert _stored(path) == [_rec(0), _rec(2)] and _peek(b, 5) == [_rec(0), _rec(2)]


def test_the_file_is_json_lines_and_drop_markers():
    """The format on flash stays readable by older and newer firmware: compact JSON lines, "-N"."""
    with _Dir() as d:
        path = d + "/b.jsonl"
        b = Backlog(path)
        b.add({"d1": 1.5, "created": 1767225600000})
        b.add({"d2": -0.25})
        b.add({"d3": 2.0})
        b.peek_body(HEAD, 2)
        b.drop(2)
        with open(path, "rb") as f:
            assert f.read() == b'{"d1":1.5,"created":1767225600000}\n{"d2":-0.25}\n{"d3":2.0}\n-2\n'
        with open(path, "ab") as f:  # a file written by hand (or by CPython's json): spaces
            f.write(b'{"d4": 7}\n')
        assert _peek(Backlog(path), 5) == [{"d3": 2.0}, {"d4": 7}]
