"""ambient.forwarder: the app loop's Ambient task (pytest and tools/mptest.py on MicroPython).

A Forwarder on a virtual clock with a stand-in http_post; the timings it keeps are its
documented ones: 10 s first retry, a flush at most every 12 s, a refused flush checked again
after 10 s, at most 400 bytes of records per flush.
"""

import json
import os

import log
import store
import testkit
from ambient.forwarder import Forwarder
from clock import VirtualClock

KEY = "0123456789abcdef"
WALL = 1764723600  # 2025-12-03 01:00 UTC
AMB = {"write_key": KEY, "url": "http://amb.test", "channel_id": "1", "interval": 30}


class Rig:
    """A Forwarder, its clock, the posts it made; `with Rig() as r:` removes its files."""

    def __init__(self, status=200, amb=AMB, wall=None, start_ticks=0):
        log.set_sink(lambda line: None)
        self.dir = testkit.tmpdir()
        self.clock = VirtualClock(start_ticks=start_ticks, wall=WALL)
        self.status = status
        self.posts = []  # (url, body as a dict)
        self.walls = 0
        self.fwd = Forwarder(
            amb,
            self.post,
            wall or self.wall,
            store.Store(self.dir + "/s.json"),
            self.dir + "/b",
            self.clock.ticks_ms(),
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        testkit.rmtree(self.dir)

    def wall(self):
        self.walls += 1
        return self.clock.wall()

    def post(self, url, body, timeout_s):
        assert isinstance(body, bytes) and timeout_s == 10
        self.posts.append((url, json.loads(body)))
        if self.status is None:
            raise OSError(110)  # ETIMEDOUT
        return self.status

    def poll_for(self, ms, make=None, online=True, step=50):
        """poll() every step ms for ms; returns how many polls made a request."""
        end = self.clock.now_ms + ms
        used = 0
        while self.clock.now_ms < end:
            if self.fwd.poll(self.clock.ticks_ms(), online, make or (lambda now: None)):
                used += 1
            self.clock.advance(step)
        return used


def _rec(i):
    return {"d1": 1.5, "d2": -0.25, "d4": 7, "created": 1764723600000 + 30000 * i}


def test_one_record_per_interval_sent_with_its_values():
    with Rig() as r:
        n = [0]

        def make(now):
            n[0] += 1
            return _rec(n[0])

        used = r.poll_for(95000, make)
        assert [p[0] for p in r.posts] == ["http://amb.test/api/v2/channels/1/data"] * 3
        assert [p[1] for p in r.posts] == [dict(_rec(i), writeKey=KEY) for i in (1, 2, 3)]
        assert used == 3 and r.fwd.sent == 3 and r.fwd.requests == 3 and r.fwd.status() == "ok"


def test_poll_makes_at_most_one_request_and_says_so():
    """poll() answers True exactly when it made a request: the app step's one network call."""
    with Rig(status=500) as r:
        for i in range(4):
            r.fwd.backlog.add(_rec(i))
        made = []
        for _ in range(2000):  # 100 s at 50 ms: records due, failed sends, flush retries
            before = len(r.posts)
            made.append(r.fwd.poll(r.clock.ticks_ms(), True, lambda now: _rec(9)))
            assert len(r.posts) - before == (1 if made[-1] else 0)
            r.clock.advance(50)
        assert made.count(True) == len(r.posts) == r.fwd.requests >= 4
        r.status = 200
        assert r.poll_for(200000, lambda now: None) >= 1 and len(r.fwd.backlog) == 0


def test_waiting_records_cost_no_limiter_work_per_step():
    """While records wait (backoff, or < 5 s since the last request) poll does no wall-clock or
    limiter arithmetic: on MicroPython that allocated ~360 B a step, 72 KB per refresh cycle in an outage."""
    with Rig(status=500) as r:
        rooms = [0]
        room = r.fwd.limiter.room

        def counted_room(now_s):
            rooms[0] += 1
            return room(now_s)

        r.fwd.limiter.room = counted_room
        rec = {"d1": 1.0, "d2": 0.5, "created": 1764723600000}
        r.poll_for(31000, lambda now: dict(rec))  # the first record: sent, refused (500), kept
        assert len(r.posts) == 1 and len(r.fwd.backlog) == 1 and r.fwd.backoff_ms == 10000
        before = (r.walls, rooms[0], len(r.posts))
        r.poll_for(9000, lambda now: dict(rec))  # inside the 10 s backoff, no record due: 180 polls
        assert (r.walls, rooms[0], len(r.posts)) == before
        r.status = 200
        r.poll_for(31000, lambda now: dict(rec))  # backoff over: the backlog goes out, then the next record
        assert len(r.posts) >= 2 and len(r.fwd.backlog) == 0 and r.fwd.flushed >= 1
        assert rooms[0] < 20  # a few flush attempts, not one per poll


def test_quota_used_up_costs_no_limiter_work_per_step():
    """Records wait for tomorrow's quota: the flush check runs once per 10 s, not every step
    (each wall-clock read and limiter check allocates a long int on MicroPython)."""
    with Rig() as r:
        for i in range(5):
            r.fwd.backlog.add({"d1": 1.0, "created": 1764723600000 + i})
        r.fwd.limiter.spend(r.clock.wall() - 100, 3000)  # the day's quota is used
        r.walls = 0
        r.poll_for(60000, lambda now: {"d1": 2.0, "created": 1764723700000})  # 1200 polls, one record
        assert r.posts == [] and len(r.fwd.backlog) == 6 and r.fwd.failed == 0
        assert r.walls <= 60000 // 10000 + 3, r.walls


def test_near_the_daily_limit_the_flush_sends_what_still_fits():
    with Rig() as r:
        for i in range(10):
            r.fwd.backlog.add(_rec(i))
        r.fwd.limiter.spend(r.clock.wall() - 100, 2997)  # room for 3 today
        r.poll_for(20000)
        assert [len(p[1]["data"]) for p in r.posts] == [3]
        assert r.fwd.limiter.used_today(r.clock.wall()) == 3000 and len(r.fwd.backlog) == 7
        assert [p[1]["data"] for p in r.posts] == [[_rec(0), _rec(1), _rec(2)]]


def test_flush_bodies_and_a_failing_retry_carries_one_record():
    with Rig(status=500) as r:
        recs = [_rec(i) for i in range(20)]
        for x in recs:
            r.fwd.backlog.add(x)
        r.poll_for(13000)  # the first flush fails: a full batch; the retry after the backoff carries one
        r.poll_for(12000)
        assert len(r.posts) == 2 and r.fwd.failed == 2
        assert all(p[0] == "http://amb.test/api/v2/channels/1/dataarray" for p in r.posts)
        assert len(r.posts[0][1]["data"]) > 1 and len(r.posts[1][1]["data"]) == 1
        r.status = 200
        del r.posts[:]
        r.poll_for(200000)
        got = [x for p in r.posts for x in p[1]["data"]]
        assert got == recs and len(r.fwd.backlog) == 0  # nothing lost, in order, "created" kept
        assert all(p[1]["writeKey"] == KEY for p in r.posts)
        sizes = [len(json.dumps(p[1]["data"], separators=(",", ":"))) for p in r.posts]
        assert max(sizes) <= 400 + 2  # the batch is bounded in bytes
        assert r.fwd.flushed == 20 and r.fwd.sent == 20


def test_a_backlog_count_ahead_of_the_file_is_recounted():
    """Records counted but not on flash (writes lost): the flush recounts from the file once,
    instead of rescanning it on every loop step with the status stuck on "buffer"."""
    with Rig() as r:
        for i in range(3):
            r.fwd.backlog.add(_rec(i))
        path = r.dir + "/b"
        with open(path, "rb") as f:
            first = f.readline()
        with open(path, "wb") as f:  # the flash kept the first record only
            f.write(first)
        r.poll_for(60000)
        assert len(r.posts) == 1 and r.posts[0][1]["data"] == [_rec(0)]
        assert len(r.fwd.backlog) == 0 and r.fwd.status() == "ok"


def test_a_backlog_file_gone_is_recounted_not_an_error_every_step():
    with Rig() as r:
        for i in range(3):
            r.fwd.backlog.add(_rec(i))
        os.remove(r.dir + "/b")
        r.poll_for(30000)  # raised OSError on every step before
        assert r.posts == [] and len(r.fwd.backlog) == 0 and r.fwd.status() == "ok"


def test_a_week_offline_after_a_failure_does_not_block_sends():
    """Ticks wrap: 6.2 days after the last request ticks_diff turns negative; the backoff and the
    refused-flush wait still read it as long past (one record a day, polled every minute)."""
    amb = dict(AMB, interval=86400)
    with Rig(status=None, amb=amb, start_ticks=(1 << 30) - 5000) as r:
        r.poll_for(86400000 + 1000, lambda now: _rec(0), True, 60000)  # a day: the record fails
        assert r.fwd.failed == 1 and len(r.fwd.backlog) == 1 and r.fwd.backoff_ms == 10000
        r.poll_for(7 * 86400000, lambda now: _rec(1), False, 60000)  # a week offline: 7 more kept
        assert len(r.posts) == 1 and len(r.fwd.backlog) == 8
        r.status = 200
        r.poll_for(1000)  # back online: the retry goes at once (not after another ~6 days)
        assert len(r.posts) == 2 and r.posts[1][1]["data"] == [_rec(0)]  # one record while failing
        r.poll_for(60000)
        assert [x for p in r.posts[1:] for x in p[1]["data"]] == [_rec(0)] + [_rec(1)] * 7
        assert len(r.fwd.backlog) == 0


def test_the_day_count_survives_a_restart():
    with Rig() as r:
        r.fwd.limiter.spend(r.clock.wall(), 2990)
        r.fwd.close()
        r.fwd.store.save()  # (the App saves its store on close)
        fwd2 = Forwarder(
            AMB, r.post, r.wall, store.Store(r.dir + "/s.json"), r.dir + "/b", r.clock.ticks_ms()
        )
        assert fwd2.limiter.used_today(r.clock.wall()) == 2990
