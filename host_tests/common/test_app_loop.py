"""lib/app/loop.py against a scripted session: Ambient store-and-forward, limits, buttons, night,
watchdog, and the restart after 50 failed polls (against the simulator).

Plain asserts on CPython (pytest) and MicroPython (tools/mptest.py; sim/ must be on sys.path); the
config is sim/demo.py's and the loop on the virtual clock is demo.run_app.
"""

import json

import bp35a1
import demo
import harness
import log
from app import loop as app_mod
from clock import VirtualClock
from testkit import fill_view, tmpdir

RBID = bp35a1.DEFAULT_ID
PWD = bp35a1.DEFAULT_PASSWORD
WKEY = demo.WRITE_KEY
URL = "http://amb.test/api/v2/channels/%s/data" % demo.CHANNEL
T0 = 1767225600  # 2026-01-01 00:00:00 UTC = 09:00 JST


def make_cfg(**over):
    return demo.config("http://amb.test", **over)


class Reading:
    def __init__(self, t, power_w, r_da, t_da, kwh):
        self.t = t
        self.power_w = power_w
        self.current_r_da = r_da
        self.current_t_da = t_da
        self.cumulative_kwh = kwh
        self.reverse_kwh = None


class FakeSession:
    """Produces a reading every 10 s of virtual time while .live; power follows .power_w."""

    def __init__(self, clock):
        self.clock = clock
        self.state = "ready"
        self.status = "Reading"
        self.progress = 100
        self.error = None
        self.reading = None
        self.period_kwh = 100.0
        self.step_kwh = 0.01  # added to period_kwh at each reading
        self.period_reverse_kwh = None
        self.today = None
        self.history = None  # no history answers: the App prices the period's kWh without them
        self.history_seq = 0
        self.info = {"channel": 0x21}
        self.counters = {}
        self.live = True
        self.power_w = 1234
        self.r_da, self.t_da = 123, 45
        self.next_t = clock.now_ms
        self.today_requests = 0
        self.closed = False
        self.raise_on_poll = None

    def poll(self):
        if self.raise_on_poll:
            raise self.raise_on_poll
        if self.live and self.clock.now_ms >= self.next_t:
            self.next_t = self.clock.now_ms + 10000
            self.period_kwh = round(self.period_kwh + self.step_kwh, 2)
            self.reading = Reading(self.clock.ticks_ms(), self.power_w, self.r_da, self.t_da, 5000.0)

    def wait_ms(self):
        if not self.live:
            return 1000  # nothing due
        return max(0, min(1000, self.next_t - self.clock.now_ms))

    def request_today(self):
        self.today_requests += 1

    def close(self, deadline_ms=3000):
        self.closed = True


class FakeHttp:
    """http_post stand-in: .mode "ok" | "down" (OSError) | int status; records each call."""

    def __init__(self, clock):
        self.clock = clock
        self.mode = "ok"
        self.calls = []  # (virtual s, url, decoded body, result)
        self.received = []  # records accepted, in order

    def __call__(self, url, body, timeout_s):
        assert isinstance(body, bytes) and timeout_s > 0
        doc = json.loads(body)
        result = self.mode
        self.calls.append((self.clock.now_ms / 1000, url, doc, result))
        if result == "down":
            raise OSError(110, "ETIMEDOUT")
        if result == "ok":
            if url.endswith("/dataarray"):
                self.received.extend(doc["data"])
            else:
                self.received.append({k: v for k, v in doc.items() if k != "writeKey"})
            return 200
        return result


class Net:
    def __init__(self):
        self.up = True
        self.connects = 0

    def is_connected(self):
        return self.up

    def connect(self):
        self.connects += 1


def build(d, cfg=None, **kw):
    clock = VirtualClock(start_ticks=(1 << 30) - 20000, wall=T0)  # ticks wrap during the test
    session = FakeSession(clock)
    http = FakeHttp(clock)
    a = app_mod.App(
        cfg or make_cfg(),
        None,
        clock.ticks_ms,
        clock.wall,
        http_post=http,
        state_path=d + "/state.json",
        backlog_path=d + "/backlog",
        session=session,
        **kw,
    )
    return a, clock, session, http


def diffs(xs):
    """Each item minus the one before it."""
    return [xs[i] - xs[i - 1] for i in range(1, len(xs))]


def run(a, clock, seconds):
    demo.run_app(a, clock, int(seconds * 1000))


def test_one_record_every_interval_with_values_and_created():
    d = tmpdir()
    a, clock, session, http = build(d)
    session.power_w = -2500  # export
    session.r_da, session.t_da = 31, None  # single-phase: T absent
    run(a, clock, 301)
    assert len(http.calls) == 10
    assert all(c[1] == URL for c in http.calls)
    assert all(c[2]["writeKey"] == WKEY for c in http.calls)
    rec = http.received[-1]
    assert rec["d1"] == 3.1 and rec["d2"] == -2.5
    # 31 readings (t = 0, 10, ..., 300 s), each 0.01 kWh over the 100.0 the session started at
    assert rec["d3"] == session.period_kwh == 100.31
    # tepco_b, 40 A; the bill rounds 100.31 kWh to 100 kWh (half up):
    # 1,247.00 yen + 100 kWh x 29.80 yen = 1,247.00 + 2,980.00 = 4,227.00 -> 4,227
    assert rec["d4"] == 4227
    # created: the wall time of the reading, not of the send
    reading_age_ms = clock.ticks_ms() - session.reading.t
    assert abs(rec["created"] - (clock.wall() * 1000 - reading_age_ms)) <= 1000
    gaps = diffs([c[0] for c in http.calls])
    assert all(abs(g - 30) < 1.5 for g in gaps), gaps
    assert (a.amb.sent, a.amb.failed, len(a.amb.backlog), a.amb.skipped) == (10, 0, 0, 0)


def test_store_and_forward_with_ticks_that_wrap():
    d = tmpdir()
    clock = VirtualClock(start_ticks=(1 << 30) - 5000, wall=T0)  # the ticks wrap 5 s in
    session = FakeSession(clock)
    session.power_w, session.r_da, session.t_da = -1500, -80, None
    session.period_kwh, session.step_kwh, session.period_reverse_kwh = 12.5, 0, 3.25
    got = []
    mode = ["down"]

    def post(url, body, timeout_s):
        if mode[0] == "down":
            raise OSError(110)
        doc = json.loads(body)
        assert doc["writeKey"] == WKEY
        got.extend(doc["data"] if url.endswith("/dataarray") else [doc])
        return 200

    presses = ["b", None, "a_long", "A"]
    flips = []
    a = app_mod.App(
        demo.config("http://127.0.0.1:9"),
        None,
        clock.ticks_ms,
        clock.wall,
        http_post=post,
        state_path=d + "/state.json",
        backlog_path=d + "/backlog",
        session=session,
        buttons=lambda: presses.pop(0) if presses else None,
        set_flip=flips.append,
    )
    run(a, clock, 125)  # four records while Ambient is unreachable
    assert len(a.amb.backlog) == 4 and a.amb.failed >= 1 and got == []
    assert a.screen == "today" and a.flip and flips == [False, True]
    mode[0] = "ok"
    run(a, clock, 120)
    assert len(a.amb.backlog) == 0
    assert len(got) == 8, len(got)
    created = [r["created"] for r in got]
    assert created == sorted(created)
    r = got[-1]
    assert r["d1"] == -8.0 and r["d2"] == -1.5 and r["d3"] == 12.5 and r["d5"] == 3.25
    # tepco_b, 40 A; 12.5 kWh rounds half up to 13 kWh: 1,247.00 + 13 x 29.80 (387.40) = 1,634.40 -> 1,634
    assert r["d4"] == 1634
    v = fill_view(a)
    assert v.amb_ok == 8 and v.amb_buffered == 0 and v.power_w == -1500
    a.close()
    assert session.closed


def test_larger_phase_is_the_current():
    r = Reading(0, 100, 120, 250, 0)
    assert app_mod.current_a(r) == 25.0
    r.current_t_da = None
    assert app_mod.current_a(r) == 12.0
    r.current_r_da = -300  # export: signed, the larger magnitude wins
    assert app_mod.current_a(r) == -30.0
    r.current_r_da = None
    assert app_mod.current_a(r) is None


def test_outage_keeps_records_and_flushes_them_in_order():
    d = tmpdir()
    a, clock, session, http = build(d)
    run(a, clock, 60)
    http.mode = "down"
    run(a, clock, 1800)  # 30 min without Ambient
    waiting = len(a.amb.backlog)
    assert waiting >= 58
    assert a.amb.failed >= 5
    failed_calls = [c for c in http.calls if c[3] == "down"]
    # back-off: far fewer attempts than records
    assert len(failed_calls) < 30
    http.mode = "ok"
    run(a, clock, 300)
    assert len(a.amb.backlog) == 0
    created = [r["created"] for r in http.received]
    assert created == sorted(created) and len(set(created)) == len(created)
    # every 30 s slot of the whole run has its record, in order: nothing lost
    steps = [g / 1000 for g in diffs(created)]
    assert all(20 <= g <= 40 for g in steps), steps
    assert len(created) == a.amb.sent and abs(len(created) - clock.now_ms / 30000) <= 1
    assert any(c[1].endswith("/dataarray") and c[3] == "ok" for c in http.calls)
    assert all(len(c[2]["data"]) <= a.amb.batch for c in http.calls if c[1].endswith("/dataarray"))
    times = [c[0] for c in http.calls]
    assert all(g > 5 for g in diffs(times)), "requests less than 5 s apart"
    assert a.amb.flushed >= waiting


def test_http_errors_and_wifi_down_go_to_the_backlog():
    d = tmpdir()
    net = Net()
    a, clock, session, http = build(d, network=net)
    http.mode = 500
    run(a, clock, 65)
    assert len(a.amb.backlog) == 2 and a.amb.failed >= 1
    assert "HTTP 500" in a.amb.last_error
    http.mode = "ok"
    net.up = False
    run(a, clock, 120)
    assert net.connects >= 2
    assert not any(c[0] > 70 for c in http.calls), "sent while Wi-Fi was down"
    assert len(a.amb.backlog) == 6
    net.up = True
    run(a, clock, 60)
    assert len(a.amb.backlog) == 0 and len(http.received) == 8


def test_stale_reading_is_never_sent_as_fresh():
    d = tmpdir()
    a, clock, session, http = build(d)
    run(a, clock, 35)
    assert len(http.received) == 1
    session.live = False
    run(a, clock, 300)
    # a reading is fresh for 60 s: at most two more records from the last reading
    assert len(http.received) <= 3
    assert a.amb.skipped >= 7
    last_reading_created = http.received[-1]["created"]
    assert all(r["created"] <= last_reading_created for r in http.received)


def test_no_record_before_the_clock_is_set():
    d = tmpdir()
    a, clock, session, http = build(d)
    clock.clear_wall()
    run(a, clock, 95)
    assert http.calls == [] and a.amb.skipped == 3 and len(a.amb.backlog) == 0


def test_backlog_survives_a_restart():
    d = tmpdir()
    a, clock, session, http = build(d)
    http.mode = "down"
    run(a, clock, 125)
    kept = len(a.amb.backlog)
    assert kept == 4
    a.close()
    assert session.closed
    b, clock2, session2, http2 = build(d)
    assert len(b.amb.backlog) == kept
    run(b, clock2, 40)
    assert len(b.amb.backlog) == 0
    assert len(http2.received) == kept + 1


def test_daily_limit_defers_records_to_the_next_day():
    d = tmpdir()
    a, clock, session, http = build(d)
    a.amb.limiter.spend(clock.wall(), 2999)  # the day is nearly used up
    run(a, clock, 125)
    assert len(http.received) == 1
    assert len(a.amb.backlog) == 3
    assert a.amb.failed == 0  # not a failure: waiting for the quota


def test_backlog_near_the_daily_limit_sends_what_still_fits():
    d = tmpdir()
    a, clock, session, http = build(d)
    run(a, clock, 60)
    http.mode = "down"
    run(a, clock, 600)  # 10 min without Ambient: ~20 records wait
    assert len(a.amb.backlog) >= 15
    http.mode = "ok"
    a.amb.limiter.spend(clock.wall(), 3000 - 8 - a.amb.limiter.used_today(clock.wall()))
    run(a, clock, 120)
    # 8 records of quota were left: the batch shrinks to fit instead of stalling
    assert a.amb.limiter.used_today(clock.wall()) == 3000
    bulk = [c for c in http.calls if c[1].endswith("/dataarray") and c[3] == "ok"]
    assert bulk and all(len(c[2]["data"]) <= 8 for c in bulk)
    assert len(a.amb.backlog) > 0  # the rest waits for tomorrow's quota


def test_restart_restores_the_daily_count():
    d = tmpdir()
    a, clock, session, http = build(d)
    a.amb.limiter.spend(clock.wall(), 2990)
    run(a, clock, 5)
    a.close()
    b, clock2, _, _ = build(d)
    assert b.amb.limiter.used_today(clock2.wall()) >= 2990


def test_buttons_flip_persist_and_cycle_screens():
    d = tmpdir()
    presses = []
    flips = []
    a, clock, session, http = build(
        d, buttons=lambda: presses.pop(0) if presses else None, set_flip=flips.append
    )
    assert flips == [False]
    run(a, clock, 1)
    assert a.screen_name() == "main"
    presses.append("A")
    run(a, clock, 1)
    assert a.flip and flips[-1] is True
    n = session.today_requests  # the half-hourly prices ask for today's too (lib/app/bill.py)
    presses.append("B")
    run(a, clock, 1)
    assert a.screen == "today" and session.today_requests == n + 1
    presses.append("B")
    run(a, clock, 1)
    assert a.screen == "diagnostics"
    presses.append("B")
    run(a, clock, 1)
    assert a.screen == "main"
    flips2 = []
    build(d, set_flip=flips2.append)
    assert flips2 == [True], "orientation kept across restarts"


def test_connecting_screen_until_the_first_reading():
    d = tmpdir()
    a, clock, session, http = build(d)
    session.live = False
    session.state, session.status = "scan", "Scanning (1/4)"
    run(a, clock, 2)
    assert a.screen_name() == "connecting"
    session.live = True
    run(a, clock, 1)
    assert a.screen_name() == "main"


def test_night_window_dims_and_a_press_wakes():
    d = tmpdir()
    levels = []
    presses = []
    cfg = make_cfg(display={"brightness": 80, "night": {"start": "23:00", "end": "06:00", "brightness": 0}})
    a, clock, session, http = build(
        d, cfg=cfg, set_brightness=levels.append, buttons=lambda: presses.pop(0) if presses else None
    )
    clock.set_wall(T0 + 14 * 3600 - 60)  # 22:59 JST
    run(a, clock, 1)
    assert levels == [80]
    run(a, clock, 90)
    assert levels[-1] == 0
    presses.append("A")
    run(a, clock, 1)
    assert levels[-1] == 80 and not a.flip, "the first press on a dark screen only lights it"
    run(a, clock, 40)
    assert levels[-1] == 0
    clock.set_wall(T0 + 21 * 3600 + 1)  # 06:00:01 JST
    run(a, clock, 31)
    assert levels[-1] == 80


def test_in_window():
    for start, end, minute, inside in (
        (1380, 360, 1380, True),  # 23:00-06:00 at 23:00
        (1380, 360, 359, True),  # 05:59
        (1380, 360, 360, False),  # 06:00: the end is outside
        (60, 120, 90, True),
        (60, 120, 30, False),
    ):
        wall = T0 - 9 * 3600 + minute * 60  # local midnight + minute (JST)
        assert app_mod.in_window(wall, 9 * 3600, start, end) is inside, (start, end, minute)
        assert app_mod.in_window(None, 0, start, end) is False


def test_watchdog_fed_only_while_progress_is_made():
    d = tmpdir()
    feeds = []
    a, clock, session, http = build(d, feed=lambda: feeds.append(clock.now_ms))
    run(a, clock, 60)
    assert feeds and feeds[-1] >= clock.now_ms - 1000
    session.live = False  # stuck: "ready" but no reading and no state change
    run(a, clock, app_mod.STALL_MS / 1000 + 60)
    assert feeds[-1] < clock.now_ms - 50000, "fed although nothing progressed for 15 min"
    session.live = True
    run(a, clock, 20)
    assert feeds[-1] >= clock.now_ms - 1000


def test_watchdog_fed_while_paused_or_failed():
    d = tmpdir()
    feeds = []
    a, clock, session, http = build(d, feed=lambda: feeds.append(clock.now_ms))
    session.live = False
    session.state, session.status = "paused", "Radio limit"
    run(a, clock, app_mod.STALL_MS / 1000 + 60)
    assert feeds[-1] >= clock.now_ms - 1000


def test_session_exceptions_do_not_stop_the_loop():
    d = tmpdir()
    lines = []
    log.set_sink(lines.append)
    try:
        a, clock, session, http = build(d)
        run(a, clock, 31)
        session.raise_on_poll = ValueError("bad frame")
        run(a, clock, 60)
        session.raise_on_poll = None
        run(a, clock, 31)
    finally:
        log.set_sink(print)
    assert a.poll_errors > 10
    assert sum("session failed" in line for line in lines) <= 4, "error log is rate-limited"
    assert a.fresh_reading() is not None
    assert all(PWD not in line and WKEY not in line and RBID not in line for line in lines)


def test_write_key_never_logged():
    d = tmpdir()
    lines = []
    log.set_sink(lines.append)
    try:
        log.set_level(log.DEBUG)
        a, clock, session, http = build(d)
        http.mode = "down"
        run(a, clock, 100)
        http.mode = "ok"
        run(a, clock, 60)
    finally:
        log.set_level(log.INFO)
        log.set_sink(print)
    assert lines
    assert not any(WKEY in line or PWD in line or RBID in line for line in lines)


def test_ambient_off_without_config():
    d = tmpdir()
    cfg = make_cfg()
    cfg["ambient"] = None
    a, clock, session, http = build(d, cfg=cfg)
    run(a, clock, 100)
    assert http.calls == [] and a.amb is None
    assert fill_view(a).ambient == "off"


def test_fifty_failed_polls_in_a_row_start_the_session_again():
    """App._poll_session: the 50th exception in a row closes the session and builds a new one."""
    d = tmpdir()
    world = harness.World(start=T0)
    clock = world.clock
    lines = []
    log.set_sink(lines.append)
    try:
        a = app_mod.App(
            demo.config(),
            world.module.uart,
            clock.ticks_ms,
            clock.wall,
            state_path=d + "/state.json",
            backlog_path=d + "/backlog",
        )
        assert demo.run_app(a, clock, 120000, world.module, lambda: a.session.reading is not None)
        first = a.session
        joined = world.module.stats["joined"]

        def broken():
            raise ValueError("bad frame")

        first.poll = broken  # every poll of this session fails from now on
        for _ in range(49):
            a.step()
            clock.advance(100)
        assert a.session is first and a.poll_errors == 49  # 49 in a row: still the same session
        a.step()
        assert a.session is not first and a.poll_errors == 50  # the 50th: a new one
        assert world.module.stats["terms"] == 1  # the old one was ended with SKTERM
        assert demo.run_app(a, clock, 180000, world.module, lambda: a.session.reading is not None)
        assert a.session.state == "ready" and world.module.stats["joined"] == joined + 1
        a.step()
        assert a.poll_errors == 50
    finally:
        log.set_sink(print)
    assert sum("starting it again" in line for line in lines) == 1, lines
    assert sum("session failed" in line for line in lines) <= 4, "the error log is rate-limited"
