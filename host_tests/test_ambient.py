"""ambient.py: records, request bodies, the limiter and the flash backlog."""

import collections
import json
import os

import ambient
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

KEY = "0123456789abcdef"
JST = 32400
DAY = 86400
T0 = 1767225600  # 2026-01-01 00:00:00 UTC = 09:00 JST


def test_make_record_rounding_and_units():
    r = ambient.make_record(12.34, 1234.5678, 123.456, 4567.89, 1.234, 1767225600123)
    assert r == {"d1": 12.3, "d2": 1.235, "d3": 123.46, "d4": 4567, "d5": 1.23, "created": 1767225600123}
    assert type(r["d4"]) is int and type(r["created"]) is int


def test_make_record_export_and_missing():
    r = ambient.make_record(None, -850, None, None)
    assert r == {"d2": -0.85}
    r = ambient.make_record(0.04, -0.4, 0.001, 0)
    assert r == {"d1": 0.0, "d2": 0.0, "d3": 0.0, "d4": 0}
    assert "-0.0" not in json.dumps(r)
    assert ambient.make_record(None, None, None, None) == {}


def test_body_and_array_body():
    rec = ambient.make_record(3.2, 640, 10.5, 321, created_ms=1767225600000)
    b = ambient.body(KEY, rec)
    assert isinstance(b, bytes)
    assert json.loads(b) == dict(rec, writeKey=KEY)
    assert json.loads(ambient.body(KEY, {})) == {"writeKey": KEY}
    assert json.loads(ambient.body(KEY, {"writeKey": "other", "d1": 1})) == {"writeKey": KEY, "d1": 1}
    recs = [rec, ambient.make_record(1, -100, 1, 1, created_ms=1)]
    raw = [json.dumps(r).encode() for r in recs]
    for data in (recs, raw, [json.dumps(recs[0]), raw[1]]):
        assert json.loads(ambient.array_body(KEY, data)) == {"writeKey": KEY, "data": recs}
    assert json.loads(ambient.array_body(KEY, [])) == {"writeKey": KEY, "data": []}


def test_write_key_never_in_errors():
    with pytest.raises(TypeError) as e:
        ambient.body(b"0123456789abcdef", {})
    assert "0123456789abcdef" not in str(e.value)


def test_url():
    assert ambient.url("http://ambidata.io", 12345) == "http://ambidata.io/api/v2/channels/12345/data"
    assert (
        ambient.url("http://127.0.0.1:8080/", "9", bulk=True)
        == "http://127.0.0.1:8080/api/v2/channels/9/dataarray"
    )


def test_limiter_interval_is_strict():
    lim = ambient.Limiter()
    assert lim.allow(T0)
    lim.spend(T0)
    assert not lim.allow(T0 + 5)  # whole seconds: 5 may be 4.001 s in reality
    assert lim.allow(T0 + 6)
    assert lim.allow(T0 + 5.01)
    assert lim.room(T0 + 3) == 0


def test_limiter_daily_limit_and_bulk():
    lim = ambient.Limiter(min_interval_s=5, daily_limit=3000, day_offsets_s=(0,))
    t = T0 + 3600  # 01:00 UTC
    lim.spend(t, 2500)
    assert lim.room(t + 10) == 500
    assert lim.allow(t + 10, 500) and not lim.allow(t + 10, 501)
    lim.spend(t + 10, 500)
    assert lim.room(t + 20) == 0 and not lim.allow(t + 20)
    assert lim.used_today(t + 20) == 3000
    nxt = T0 + DAY  # next UTC midnight
    assert lim.room(nxt - 1) == 0
    assert lim.room(nxt) == 3000
    assert lim.spent == 3000


def test_limiter_counts_utc_and_jst_days():
    lim = ambient.Limiter(daily_limit=100)
    # 14:00 UTC = 23:00 JST: spend 100 on both the UTC day and the JST day
    lim.spend(T0 + 14 * 3600, 100)
    # 15:00 UTC = 00:00 JST next day: the JST day rolled but the UTC day did not
    assert lim.room(T0 + 15 * 3600) == 0
    # 00:00 UTC next day = 09:00 JST: both rolled since the spend
    assert lim.room(T0 + DAY) == 100
    lim2 = ambient.Limiter(daily_limit=100)
    lim2.spend(T0 + 23 * 3600, 100)  # 23:00 UTC = 08:00 JST on the next JST day
    assert lim2.room(T0 + DAY) == 0  # the UTC day rolled, the JST day did not
    assert lim2.room(T0 + DAY + 15 * 3600 - 1) == 0  # 23:59:59 JST
    assert lim2.room(T0 + DAY + 15 * 3600) == 100  # 00:00 JST: both rolled


def test_limiter_clock_back_and_state():
    lim = ambient.Limiter(daily_limit=10)
    lim.spend(T0 + 100, 10)
    assert lim.room(T0 + 100 - DAY) == 0  # clock stepped back a day: no early reset
    saved = json.loads(json.dumps(lim.state()))
    fresh = ambient.Limiter(daily_limit=10)
    fresh.restore(saved)
    assert fresh.room(T0 + 200) == 0
    assert fresh.room(T0 + DAY) == 10
    for junk in (None, [], [1, 2], "x", [None, "a", 1, 2, 3]):
        other = ambient.Limiter(daily_limit=10)
        other.restore(junk)
        assert other.room(T0) == 10


class _RefLimiter:
    """The limiter as first written (every call recomputes the day numbers): the reference."""

    def __init__(self, daily_limit, offsets):
        self.daily_limit = daily_limit
        self.offsets = offsets
        self.days = [-1] * len(offsets)
        self.counts = [0] * len(offsets)
        self.last = None

    def roll(self, t):
        for i, off in enumerate(self.offsets):
            day = int((t + off) // DAY)
            if day > self.days[i]:
                self.days[i] = day
                self.counts[i] = 0

    def room(self, t):
        self.roll(t)
        if self.last is not None and 0 <= t - self.last <= 5:
            return 0
        return max(0, self.daily_limit - max(self.counts))

    def spend(self, t, n):
        self.roll(t)
        self.counts = [c + n for c in self.counts]
        self.last = t


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["room", "spend", "used", "restore"]),
            st.integers(-2 * DAY, 3 * 3600),  # clock steps, back ones included
            st.integers(0, 40),
        ),
        max_size=40,
    ),
    st.sampled_from([(0,), (0, JST), (JST, 0, 3600)]),
    st.booleans(),
)
def test_limiter_matches_the_reference(ops, offsets, float_clock):
    """Day rolls are only computed once a day can have ended (_roll_at): same answers as before."""
    lim = ambient.Limiter(daily_limit=50, day_offsets_s=offsets)
    ref = _RefLimiter(50, offsets)
    t = T0 + 7 * 3600
    for op, step, n in ops:
        t += step
        now = t + 0.25 if float_clock else t
        if op == "room":
            assert lim.room(now) == ref.room(now)
        elif op == "spend":
            lim.spend(now, n)
            ref.spend(now, n)
        elif op == "used":
            assert lim.used_today(now) == (ref.roll(now) or max(ref.counts))
        else:
            saved = json.loads(json.dumps(lim.state()))
            lim = ambient.Limiter(daily_limit=50, day_offsets_s=offsets)
            lim.restore(saved)
    assert lim.room(t + 1) == ref.room(t + 1)
    assert lim.state()[1:] == ref.days + ref.counts


def _rec(i):
    return ambient.make_record(i / 10, i * 10 - 500, i / 100, i, created_ms=1767225600000 + i * 30000)


def test_backlog_fifo_and_reboot(tmp_path):
    path = str(tmp_path / "backlog.jsonl")
    b = ambient.Backlog(path, capacity=100)
    assert len(b) == 0 and b.peek(5) == [] and not os.path.exists(path)
    for i in range(10):
        assert b.add(_rec(i))
    assert len(b) == 10
    assert b.peek(3) == [_rec(0), _rec(1), _rec(2)]
    b.drop(3)
    assert b.peek(2) == [_rec(3), _rec(4)]
    b2 = ambient.Backlog(path, capacity=100)  # reboot
    assert len(b2) == 7
    assert b2.peek(100) == [_rec(i) for i in range(3, 10)]
    b2.drop(4)  # without a peek before
    b3 = ambient.Backlog(path, capacity=100)
    assert b3.peek(10) == [_rec(i) for i in range(7, 10)]
    lines = b3.peek_lines(2)
    assert [json.loads(x) for x in lines] == [_rec(7), _rec(8)]
    assert json.loads(ambient.array_body(KEY, lines))["data"] == [_rec(7), _rec(8)]
    b3.drop(50)
    assert len(b3) == 0 and not os.path.exists(path)
    assert len(ambient.Backlog(path)) == 0


def test_backlog_full_drops_oldest(tmp_path):
    path = str(tmp_path / "b.jsonl")
    b = ambient.Backlog(path, capacity=5)
    for i in range(12):
        b.add(_rec(i))
    assert len(b) == 5 and b.dropped == 7
    assert b.peek(10) == [_rec(i) for i in range(7, 12)]
    assert ambient.Backlog(path, capacity=5).peek(10) == [_rec(i) for i in range(7, 12)]


def test_backlog_compacts(tmp_path):
    path = str(tmp_path / "b.jsonl")
    b = ambient.Backlog(path, capacity=100000)
    for i in range(1000):
        b.add(_rec(i))
    full = os.path.getsize(path)
    for _ in range(12):
        b.peek(50)
        b.drop(50)
    assert len(b) == 400
    assert os.path.getsize(path) < full * 0.6  # dead part rewritten away
    assert b.peek(2) == [_rec(600), _rec(601)]
    assert ambient.Backlog(path).peek(400) == [_rec(i) for i in range(600, 1000)]
    assert not os.path.exists(path + ".tmp")


def test_backlog_torn_last_line(tmp_path):
    path = str(tmp_path / "b.jsonl")
    b = ambient.Backlog(path)
    for i in range(4):
        b.add(_rec(i))
    b.drop(1)
    with open(path, "ab") as f:
        f.write(b'{"d1": 1.5, "d2": -0.')  # power lost mid-append
    b2 = ambient.Backlog(path)
    assert b2.peek(10) == [_rec(1), _rec(2), _rec(3)]
    b2.add(_rec(4))  # appends after the repaired file, not glued to the fragment
    assert ambient.Backlog(path).peek(10) == [_rec(i) for i in range(1, 5)]


def test_backlog_garbage_lines(tmp_path):
    path = str(tmp_path / "b.jsonl")
    with open(path, "wb") as f:
        f.write(json.dumps(_rec(0)).encode() + b"\n")
        f.write(b"\x00\x00\x00\n")
        f.write(b"{not json}\n")
        f.write(json.dumps(_rec(1)).encode() + b"\n")
        f.write(b"-1\n")
        f.write(b"-x\n")
        f.write(json.dumps(_rec(2)).encode() + b"\n")
        f.write(b"\xff\xff")
    b = ambient.Backlog(path)
    assert b.peek(10) == [_rec(1), _rec(2)]
    assert ambient.Backlog(path).peek(10) == [_rec(1), _rec(2)]


def test_backlog_compaction_copy_after_power_loss(tmp_path):
    path = str(tmp_path / "b.jsonl")
    lines = b"".join(json.dumps(_rec(i)).encode() + b"\n" for i in range(3))
    # FAT: the old file was removed, the rename did not happen: the copy is whole
    with open(path + ".tmp", "wb") as f:
        f.write(lines)
    assert ambient.Backlog(path).peek(10) == [_rec(0), _rec(1), _rec(2)]
    assert not os.path.exists(path + ".tmp")
    # power lost while writing the copy: the file is whole, the copy is stale
    with open(path + ".tmp", "wb") as f:
        f.write(lines[:30])
    b = ambient.Backlog(path)
    assert not os.path.exists(path + ".tmp")
    b.drop(3)
    assert not os.path.exists(path)
    assert len(ambient.Backlog(path)) == 0  # the stale copy did not come back


def test_backlog_only_acks_removes_file(tmp_path):
    path = str(tmp_path / "b.jsonl")
    with open(path, "wb") as f:
        f.write(json.dumps(_rec(0)).encode() + b"\n-1\n")
    b = ambient.Backlog(path)
    assert len(b) == 0 and not os.path.exists(path)


def _body_records(body):
    doc = json.loads(body)
    assert set(doc) == {"writeKey", "data"} and doc["writeKey"] == KEY
    return doc["data"]


def test_peek_body_reads_the_lines_as_stored(tmp_path):
    path = str(tmp_path / "b.jsonl")
    b = ambient.Backlog(path)
    head = ambient.array_head(KEY)
    assert b.peek_body(head, 5) == (None, 0)
    for i in range(6):
        b.add(_rec(i))
    b.peek(1)
    b.drop(1)  # "-1" follows the six records
    b.add(_rec(6))
    b.peek(1)
    b.drop(1)  # "-1" again, between records 6 and 7
    b.add(_rec(7))
    with open(path, "rb") as f:
        stored = f.read()
    assert stored.count(b"\n-1\n") == 2
    body, k = b.peek_body(head, 100)
    assert isinstance(body, bytes) and k == 6
    assert _body_records(body) == [_rec(i) for i in range(2, 8)]  # "-1" lines blanked, order kept
    assert body.startswith(head) and body.endswith(b"]}") and b"\n" not in body
    lines = stored.split(b"\n")
    for line in lines:
        if line.startswith(b"{") and json.loads(line) in _body_records(body):
            assert line in body  # byte for byte: "created" and the values as stored
    b.drop(k)  # the end offset of the peek is used
    assert len(b) == 0 and not os.path.exists(path)


def test_peek_body_limit_and_drop(tmp_path):
    path = str(tmp_path / "b.jsonl")
    b = ambient.Backlog(path)
    head = ambient.array_head(KEY)
    for i in range(10):
        b.add(_rec(i))
    with open(path, "rb") as f:
        three = len(f.readline()) + len(f.readline()) + len(f.readline())
    body, k = b.peek_body(head, 10, three + 2)
    assert k == 3 and _body_records(body) == [_rec(0), _rec(1), _rec(2)]
    assert len(body) == len(head) + three + 1
    body, k = b.peek_body(head, 10, three - 1)
    assert k == 2
    body, k = b.peek_body(head, 2, 10000)  # n bounds it too
    assert k == 2 and _body_records(body) == [_rec(0), _rec(1)]
    body, k = b.peek_body(head, 10, 0)  # one record even when it is over the limit
    assert k == 1 and _body_records(body) == [_rec(0)]
    b.drop(1)
    body, k = b.peek_body(head, 10)
    b.drop(k)
    assert k == 9 and _body_records(body) == [_rec(i) for i in range(1, 10)] and len(b) == 0
    # a long run of lines read through the small buffer: lines cross its 64-byte chunks
    for i in range(300):
        b.add(_rec(i))
    got = []
    while len(b):
        body, k = b.peek_body(head, 17, 700)
        assert 1 <= k <= 17
        got += _body_records(body)
        b.drop(k)
    assert got == [_rec(i) for i in range(300)]


def test_peek_body_after_a_reboot_and_a_torn_tail(tmp_path):
    path = str(tmp_path / "b.jsonl")
    b = ambient.Backlog(path)
    for i in range(5):
        b.add(_rec(i))
    b.peek(2)
    b.drop(2)
    with open(path, "ab") as f:
        f.write(b'{"d1": 1.5, "d2": -0.')  # power lost mid-append
    b2 = ambient.Backlog(path)  # an existing file, repaired on load
    body, k = b2.peek_body(ambient.array_head(KEY), 10)
    assert k == 3 and _body_records(body) == [_rec(2), _rec(3), _rec(4)]


class _TornWrites:
    """A file whose write of a "-N" marker stops after its first byte and raises (flash full)."""

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        if data[:1] == b"-":
            self.f.write(data[:1])
            raise OSError(28, "ENOSPC")
        return self.f.write(data)


def test_a_torn_drop_marker_loses_nothing(tmp_path, monkeypatch):
    path = str(tmp_path / "b.jsonl")
    b = ambient.Backlog(path)
    for i in range(3):
        b.add(_rec(i))
    body, k = b.peek_body(ambient.array_head(KEY), 1)
    monkeypatch.setattr(ambient, "open", lambda p, m: _TornWrites(open(p, m)), raising=False)
    b.drop(k)  # sent, but the marker did not reach flash: the record will go again
    monkeypatch.delattr(ambient, "open")
    assert b.errors == 1 and len(b) == 3
    b.add(_rec(3))
    sent = []
    while len(b):
        body, k = b.peek_body(ambient.array_head(KEY), 2)
        assert k
        sent += _body_records(body)
        b.drop(k)
    assert sent == [_rec(0), _rec(1), _rec(2), _rec(3)]  # nothing lost, nothing swallowed by the marker
    assert not os.path.exists(path)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.integers(1, 30)),
            st.tuples(st.just("bodydrop"), st.integers(0, 900)),
            st.tuples(st.just("drop"), st.integers(0, 40)),
            st.tuples(st.just("peekdrop"), st.integers(1, 40)),
            st.tuples(st.just("reboot"), st.just(0)),
            st.tuples(st.just("tear"), st.integers(1, 40)),
        ),
        max_size=25,
    ),
    st.integers(5, 60),
    st.sampled_from([0, 300, 16384]),
)
def test_backlog_matches_a_deque(tmp_path_factory, ops, capacity, compact_bytes):
    path = str(tmp_path_factory.mktemp("bl") / "b.jsonl")
    model = collections.deque()
    b = ambient.Backlog(path, capacity=capacity)
    b.compact_bytes = compact_bytes
    nxt = 0
    dropped = 0
    for op, k in ops:
        if op == "add":
            for _ in range(k):
                b.add(_rec(nxt))
                model.append(_rec(nxt))
                nxt += 1
                if len(model) > capacity:
                    model.popleft()
                    dropped += 1
        elif op == "drop":
            b.drop(k)
            for _ in range(min(k, len(model))):
                model.popleft()
        elif op == "bodydrop":  # a flush: up to 12 records within k bytes, at least one
            body, n = b.peek_body(ambient.array_head(KEY), 12, k)
            assert 1 <= n <= min(12, len(model)) if model else (body, n) == (None, 0)
            if n > 1:
                assert len(body) <= len(ambient.array_head(KEY)) + k + 1
            if n:
                assert _body_records(body) == list(model)[:n]
                b.drop(n)
                for _ in range(n):
                    model.popleft()
        elif op == "peekdrop":
            got = b.peek(k)
            assert got == list(model)[:k]
            b.drop(len(got))
            for _ in got:
                model.popleft()
        elif op == "reboot":
            b = ambient.Backlog(path, capacity=capacity)
            b.compact_bytes = compact_bytes
            dropped = b.dropped = 0
        else:  # a torn append: the fragment must vanish, nothing else
            with open(path, "ab") as f:
                f.write(json.dumps(_rec(999)).encode()[:k])
            b = ambient.Backlog(path, capacity=capacity)
            b.compact_bytes = compact_bytes
            dropped = b.dropped = 0
        assert len(b) == len(model)
        assert b.dropped == dropped
    assert b.peek(10**6) == list(model)
    assert ambient.Backlog(path, capacity=capacity).peek(10**6) == list(model)
