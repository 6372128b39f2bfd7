"""lib/ambient: property tests of the limiter and the backlog, and the package's layout rules.

The example tests run on both interpreters: host_tests/common/test_ambient_*.py.
"""

import ast
import collections
import json
import os

from ambient import record
from ambient.backlog import Backlog
from ambient.limiter import Limiter
from hypothesis import given, settings
from hypothesis import strategies as st

KEY = "0123456789abcdef"
HEAD = record.array_head(KEY)
JST = 32400
DAY = 86400
T0 = 1767225600  # 2026-01-01 00:00:00 UTC = 09:00 JST
LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib", "ambient")


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
    lim = Limiter(daily_limit=50, day_offsets_s=offsets)
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
            lim = Limiter(daily_limit=50, day_offsets_s=offsets)
            lim.restore(saved)
    assert lim.room(t + 1) == ref.room(t + 1)
    assert lim.state()[1:] == ref.days + ref.counts


def _rec(i):
    return record.make_record(i / 10, i * 10 - 500, i / 100, i, created_ms=1767225600000 + i * 30000)


def _records(body):
    doc = json.loads(body)
    assert set(doc) == {"writeKey", "data"} and doc["writeKey"] == KEY
    return doc["data"]


def _peek(b, n):
    body, k = b.peek_body(HEAD, n, 1 << 30)
    return [] if body is None else _records(body)


def _stored(path):
    """The live records in the file, read by the format alone."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    recs = [json.loads(x) for x in lines if x[:1] == b"{"]
    return recs[sum(int(x[1:]) for x in lines if x[:1] == b"-") :]


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
    b = Backlog(path, capacity=capacity)
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
            body, n = b.peek_body(HEAD, 12, k)
            assert 1 <= n <= min(12, len(model)) if model else (body, n) == (None, 0)
            if n > 1:
                assert len(body) <= len(HEAD) + k + 1
            if n:
                assert _records(body) == list(model)[:n]
                b.drop(n)
                for _ in range(n):
                    model.popleft()
        elif op == "peekdrop":  # drop after reading k records (the peek's end offset is used)
            got = _peek(b, k)
            assert got == list(model)[:k]
            b.drop(len(got))
            for _ in got:
                model.popleft()
        elif op == "reboot":
            b = Backlog(path, capacity=capacity)
            b.compact_bytes = compact_bytes
            dropped = b.dropped = 0
        else:  # a torn append: the fragment must vanish, nothing else
            with open(path, "ab") as f:
                f.write(json.dumps(_rec(999)).encode()[:k])
            b = Backlog(path, capacity=capacity)
            b.compact_bytes = compact_bytes
            dropped = b.dropped = 0
        assert len(b) == len(model)
        assert b.dropped == dropped
    assert _peek(b, 10**6) == list(model) == _stored(path)
    assert _peek(Backlog(path, capacity=capacity), 10**6) == list(model)


def _tree(name):
    with open(os.path.join(LIB, name)) as f:
        return ast.parse(f.read())


def test_layout_no_module_imports_its_caller_and_repair_imports_no_ambient():
    """ambient.repair is loaded by backlog and limiter: it imports neither them nor the package."""
    imports = {}
    for name in sorted(os.listdir(LIB)):
        if not name.endswith(".py"):
            continue
        got = set()
        for node in ast.walk(_tree(name)):
            if isinstance(node, ast.Import):
                got.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                got.update((node.module or "") + "." + a.name for a in node.names)
        imports[name[:-3]] = got
    assert imports["repair"] == {"json", "os"}
    assert imports["record"] == {"json"}
    assert not any("forwarder" in i for m, got in imports.items() for i in got)  # the top: nobody imports it
    assert imports["__init__"] == set()
    for mod in ("backlog", "limiter"):
        assert not any(i.startswith("ambient") for i in imports[mod])


def test_layout_no_private_state_of_another_object():
    """A leading-underscore attribute is only ever read or written on self."""
    for name in sorted(os.listdir(LIB)):
        if not name.endswith(".py"):
            continue
        for node in ast.walk(_tree(name)):
            if isinstance(node, ast.Attribute) and node.attr[:1] == "_" and node.attr[:2] != "__":
                on_self = isinstance(node.value, ast.Name) and node.value.id == "self"
                assert on_self, (name, node.lineno, node.attr)


def test_test_only_helpers_are_gone_from_lib():
    for name in ("array_body", "peek_lines"):
        for f in os.listdir(LIB):
            if f.endswith(".py"):
                with open(os.path.join(LIB, f)) as fh:
                    assert name not in fh.read(), (f, name)
    assert not hasattr(Backlog, "peek")
