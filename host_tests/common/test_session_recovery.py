"""The session never stays stuck: a quiet meter, an old session in the module, expiring sessions,
lost history answers, history days, binary ERXUDP without ROPT (plain asserts; pytest and
tools/mptest.py run them).

Each runs the driver against the simulator (sim/ on sys.path; `make test-mp` copies it in).
"""

import log
import store
import testkit

try:
    import harness
except ImportError:
    harness = None

MIN = 60000
SECRETS = ("00112233445566778899AABBCCDDEEFF", "0123456789AB", "CCDDEEFF")


class Run:
    """A simulated world, a Session on it and the log lines (INFO) it wrote."""

    def __init__(self, name, module_kw=None, meter_kw=None, start=None, start_ticks=0, before=None, **kw):
        """name: the store file; before(module) runs before the Session; kw go to the Session."""
        if harness is None:
            testkit.skip("sim/ is not on sys.path")
        self.lines = []
        log.set_sink(self.lines.append)
        log.set_level(log.INFO)
        start = start or harness.DEFAULT_START
        self.world = harness.World(
            start=start, meter_kw=meter_kw, module_kw=module_kw, start_ticks=start_ticks
        )
        self.module = self.world.module
        self.clock = self.world.clock
        if before is not None:
            before(self.module)
        self.s = self.world.session(store.Store(testkit.tmp(name)), **kw)
        self.arrivals = []  # clock.now_ms of every new reading

    def run(self, ms, stop=None):
        s = self.s
        seen = [s.reading.t if s.reading else None]
        arrivals = self.arrivals
        clk = self.clock

        def watch():
            r = s.reading
            if r is not None and r.t != seen[0]:
                seen[0] = r.t
                arrivals.append(clk.now_ms)

        return harness.run(s, self.module, clk.now_ms + ms, stop, watch)

    def until(self, cond, ms):
        assert self.run(ms, cond), "not within %d ms" % ms

    def first_reading(self, ms=120000):
        s = self.s
        self.until(lambda: s.reading is not None and s.state == "ready", ms)

    def first_after(self, t):
        """ms from t to the first reading that arrived after t (None: none)."""
        for a in self.arrivals:
            if a > t:
                return a - t
        return None

    def done(self):
        log.set_sink(print)
        for line in self.lines:
            for secret in SECRETS:
                assert secret not in line
        for line in self.lines:
            assert "password" not in line or line.startswith("INFO set password"), line


def _more(r, get, ms):
    """Run until get() grows (within ms)."""
    n = get()
    r.until(lambda: get() > n, ms)


def _expect_model(r):
    """The reading equals the meter model at the request it answers."""
    s = r.s
    reads = [q for q in r.module.requests if q[1] == s.reading.tid and q[2] == 0x62]
    assert reads
    t = reads[-1][4]
    m = r.world.meter
    assert s.reading.power_w == m.power_w(t)
    assert s.reading.cumulative_raw == m.raw(t)
    assert (s.reading.current_r_da, s.reading.current_t_da) == m.current_da(t)


def _silent(ms):
    r = Run("sm_quiet_%d.json" % ms)
    try:
        s = r.s
        r.first_reading()
        r.run(25000)
        joins = r.module.stats["joins"]
        t0 = r.clock.now_ms
        r.module.silence(ms)  # the module keeps its PANA session
        r.run(ms)
        end = r.clock.now_ms
        r.run(2 * MIN)
        took = r.first_after(end)
        assert took is not None and took <= 10000 + 60000, took  # refresh_s + the slowest pace (60 s)
        assert r.module.stats["joins"] == joins and r.module.stats["refused_joins"] == 0  # session kept
        assert s.counters["rejoins"] == 0 and s.counters["rescans"] == 0
        assert s.state == "ready" and s.status == "Connected" and s.error is None
        _expect_model(r)
        during = [a for a in r.arrivals if t0 < a <= end]
        assert not during
        # it asked more slowly while the meter said nothing: at most 4 tries, then every 10-60 s
        sent = [q for q in r.module.requests if t0 <= q[0] < end]
        assert len(sent) <= 4 + 1 + ms // 10000, len(sent)
        return s, r
    finally:
        r.done()


def test_meter_silent_20_s_keeps_the_session():
    _silent(20000)


def test_meter_silent_60_s_keeps_the_session_and_says_so():
    s, r = _silent(60000)
    assert "INFO Meter not answering" in r.lines  # the status line named the real problem
    assert r.module.stats["pings"] >= 1


def test_meter_silent_10_min_keeps_the_session():
    _silent(10 * MIN)


def test_start_up_with_the_module_still_joined_from_before():
    r = Run("sm_joined.json", before=lambda m: m.joined_before())
    try:
        r.first_reading(60000)
        st = r.module.stats
        assert st["terms"] == 1 and st["refused_joins"] == 0 and st["joined"] == 1
        assert r.clock.now_ms <= 30000
        _expect_model(r)
    finally:
        r.done()


def test_module_refusing_join_is_reset_and_set_up_again():
    # a join from an earlier run never ends: SKTERM has nothing to end, SKJOIN is refused
    r = Run("sm_joining.json", before=lambda m: m.joining_before())
    try:
        s = r.s
        r.first_reading(120000)
        st = r.module.stats
        assert st["refused_joins"] == 1 and st["resets"] == 1 and st["joined"] == 1
        assert s.status == "Connected"
        _expect_model(r)
    finally:
        r.done()


def test_module_refusing_join_for_good_says_it_is_busy():
    r = Run("sm_busy.json", before=lambda m: m.joining_before())
    try:
        s = r.s
        m = r.module
        orig = m._cmd_SKRESET

        def stuck(args):  # SKRESET answers OK, the old join goes on
            orig(args)
            m.session = "joining"

        m._cmd_SKRESET = stuck
        r.until(lambda: s.state == "failed", 120000)
        assert s.status == "Module busy with an old session" and s.error == s.status
        m._cmd_SKRESET = orig
        r.first_reading(30 * MIN)
        _expect_model(r)
    finally:
        r.done()


def test_long_silence_rejoins_over_the_live_session():
    r = Run("sm_long.json")
    try:
        s = r.s
        r.first_reading()
        r.module.silence(35 * MIN)
        r.until(lambda: s.counters["rejoins"] == 1, 35 * MIN)
        assert r.module.session == "up" or r.module.stats["terms"] >= 2  # SKTERM before the join
        r.run(6 * MIN)
        st = r.module.stats
        assert st["refused_joins"] == 0 and st["joined"] == 2
        r.until(lambda: s.state == "ready" and s.error is None, 2 * MIN)
        _expect_model(r)
    finally:
        r.done()


def test_no_epong_means_the_session_is_lost_and_joined_again():
    r = Run("sm_away.json")
    try:
        s = r.s
        r.first_reading()
        r.run(25000)
        r.module.away(90000)  # out of reach: no answers, no EPONG, joins fail
        r.run(90000)
        end = r.clock.now_ms
        assert s.counters["rejoins"] + s.counters["rescans"] >= 1
        r.run(3 * MIN)
        took = r.first_after(end)
        assert took is not None and took <= 60000, took
        assert s.state == "ready"
        assert not [x for x in r.lines if "check the password" in x]  # it joined before: not the password
        _expect_model(r)
    finally:
        r.done()


def test_a_session_that_expires_after_every_request_is_asked_slowly():
    r = Run("sm_expire.json")
    try:
        s = r.s
        r.first_reading()
        r.run(25000)
        r.module.faults.expire_each_request = True
        sent = r.module.stats["sendto"]
        r.run(15 * MIN)
        n = r.module.stats["sendto"] - sent
        assert n <= 30, n  # 445 in 900 s before: resends after EVENT 25 count as tries, then back-off
        assert r.module.stats["reauths"] <= 30
        assert s.status in ("Meter not answering", "Re-authenticating") and s.counters["rejoins"] == 0
        r.module.faults.expire_each_request = False
        end = r.clock.now_ms
        r.run(2 * MIN)
        took = r.first_after(end)
        assert took is not None and took <= 70000, took
        _expect_model(r)
    finally:
        r.done()


def test_a_lost_history_answer_never_stalls_the_readings():
    r = Run("sm_hist_lost.json")
    try:
        s = r.s
        r.first_reading()
        r.run(25000)
        r.module.faults.drop_epcs = (0xE2,)
        t0 = r.clock.now_ms
        assert s.request_history(1)
        r.run(3 * MIN)
        got = [a for a in r.arrivals if a > t0]
        gaps = [got[i] - (got[i - 1] if i else t0) for i in range(len(got))]
        assert len(got) >= 17 and max(gaps) <= 11500, gaps  # one every 10 s, never 15 s late
        assert s.history_seq == 0
        r.module.faults.drop_epcs = ()
        r.until(lambda: s.history_seq == 1, 5 * MIN)
        assert s.history[:3] == (2024, 11, 21)
    finally:
        r.done()


def _wh(m, t, k):
    """The model's Wh per half hour for the day k days before meter time t (independent of lib/)."""
    day = m.history(k, t)
    nxt = m.history(k - 1, t)[0] if k else None
    out = []
    for i in range(48):
        a = day[i]
        b = day[i + 1] if i < 47 else nxt
        if a is None or b is None:
            out.append(None)
        else:
            out.append((b - a) % 10**m.digits * 100)  # unit 0.1 kWh = 100 Wh
    return out


def test_history_days_arrive_in_full_with_their_jst_date():
    r = Run("sm_hist.json")
    try:
        s = r.s
        r.first_reading()
        r.run(25000)
        m = r.world.meter
        assert s.request_history(1)
        r.until(lambda: s.history_seq == 1, 2 * MIN)
        t = r.world.meter_time()
        y, mo, d, wh = s.history
        assert (y, mo, d) == (2024, 11, 21)
        assert wh == _wh(m, t, 1) and None not in wh  # 23:30-24:00 too (the 00:00 value of the 22nd)
        assert s.request_history(3) and s.request_history(2) and s.request_history(5) and s.request_history(7)
        assert s.request_history(9) is False  # 4 waiting at most
        seen = {}
        while len(seen) < 4:
            _more(r, lambda: s.history_seq, 3 * MIN)
            seen[s.history[2]] = s.history[3]
        assert sorted(seen) == [15, 17, 19, 20]
        t = r.world.meter_time()
        for k in (2, 3, 5, 7):
            assert seen[22 - k] == _wh(m, t, k)
        raised = False
        try:
            s.request_history(100)
        except ValueError:
            raised = True
        assert raised
        # today: the half hours so far, the one in progress up to the latest reading
        assert s.request_history(0)
        n = s.history_seq
        r.until(lambda: s.history_seq > n, 2 * MIN)
        y, mo, d, wh = s.history
        assert (y, mo, d) == (2024, 11, 22) and s.today == s.history
        assert wh[:20] == _wh(m, r.world.meter_time(), 0)[:20]
        assert wh[20] is not None and wh[21:] == [None] * 27
        assert s.state == "ready" and s.counters["timeouts"] == 0
    finally:
        r.done()


def test_binary_erxudp_without_ropt_is_read_by_length():
    # a BP35A1 that does not answer ROPT is in binary mode; frames carry CR, LF and hex-looking bytes
    r = Run(
        "sm_noropt.json",
        module_kw={"ropt": False, "binary": True},
        meter_kw={"solar": 5000},
        start_ticks=0x0D00 - 1,  # TIDs from 0x0D00: 0x0D0A (CR LF) comes early
    )
    try:
        s = r.s
        r.first_reading()
        assert not [x for x in r.module.lines if x.startswith(b"WOPT")]
        for _ in range(30):
            _more(r, lambda: len(r.arrivals), 30000)
            _expect_model(r)
        assert s.counters["bad_lines"] == 0 and s.counters["timeouts"] == 0
        assert s.info["hex"] is False
        assert s.reading.tid > 0x0D0A
    finally:
        r.done()
