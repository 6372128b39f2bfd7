"""The session and time: a week without today's chart, a user offset other than Japan's, and the
debug log that `make decode` reads (CPython: a simulated week is too long for the shared suite)."""

import billing
import decode
import demo
import harness
import log
import store

DAY = 24 * 3600 * 1000


def test_today_is_fetched_again_after_a_week():
    # ticks_diff works within 6.2 days only: a stamp of the last fetch must not outlive that
    world = harness.World()
    s = world.session(store.Store("/dev/null"), refresh_s=600)
    assert world.run(s, 60000, lambda: s.reading is not None)
    s.request_today()
    assert world.run(s, 60000, lambda: s.today is not None)
    first = s.today
    world.run(s, 6 * DAY + 7 * 3600 * 1000)  # more than 2**29 ms later, nobody looked at the chart
    polls = [0]

    def count():
        polls[0] += 1

    s.request_today()
    harness.run(s, world.module, world.clock.now_ms + 60000, lambda: s.today is not first, count)
    assert s.today is not first and s.today[:3] == (2024, 11, 28)
    assert polls[0] < 200  # no busy loop while it waited


def _jst_day(y, m, d, hh):
    return billing.days_from_civil(y, m, d) * 86400 + hh * 3600 - 32400


def test_a_utc_offset_other_than_japan_still_fetches_the_jst_baseline_day(tmp_path):
    # 02:00 JST on the 22nd is 17:00 UTC on the 21st: the meter's day (and reading day 22) is JST
    start = _jst_day(2024, 11, 22, 2)
    world = harness.World(start=start)
    cfg = demo.config(utc_offset_hours=0)
    a = demo.app(cfg, world, tmp_path)
    assert demo.run_app(a, world.clock, 120000, world.module, lambda: a.session.baseline is not None)
    assert a.session.baseline == (2024, 11, 22)
    setc = [r for r in world.module.requests if r[2] == 0x61]
    assert setc and world.meter.day == 0  # E5 = 0: today, in Japan


def _debug_run(module_kw=None, faults=None):
    lines = []
    log.set_sink(lines.append)
    log.set_level(log.DEBUG)
    try:
        world = harness.World(module_kw=module_kw)
        if faults:
            for k, v in faults.items():
                setattr(world.faults, k, v)
        s = world.session(store.Store("/dev/null"))
        assert world.run(s, 60000, lambda: s.reading is not None and s.state == "ready")
        world.run(s, 25000)
    finally:
        log.set_sink(print)
        log.set_level(log.INFO)
    return s, world, lines


def _check_decodes(s, world, lines):
    rx = [x for x in lines if x.startswith("DEBUG < ERXUDP ")]
    tx = [x for x in lines if x.startswith("DEBUG > SKSENDTO ")]
    assert len(rx) >= 3 and len(tx) >= 3
    got = [decode.decode_line(x) for x in rx]
    answers = [g for g in got if g.get("esv") == "72" and g["properties"][0]["epc"] == "E7"]
    assert answers, got
    assert answers[-1]["tid"] == s.reading.tid
    assert answers[-1]["properties"][0]["value"] == {"w": s.reading.power_w}
    for x in tx:  # the frame sent, in hex after the length
        frame = bytes.fromhex(x.rsplit(" ", 1)[1])
        assert frame[:2] == b"\x10\x81" and int(x.rsplit(" ", 2)[1], 16) == len(frame)
    secrets = (harness.bp35a1.DEFAULT_ID, harness.bp35a1.DEFAULT_PASSWORD)
    assert not [x for x in lines if any(k in x for k in secrets)]


def test_debug_log_has_the_lines_received_and_sent_for_make_decode():
    s, world, lines = _debug_run()
    _check_decodes(s, world, lines)


def test_debug_log_shows_binary_erxudp_data_as_hex():
    s, world, lines = _debug_run(faults={"wopt_fail": True})  # the module stays binary
    assert world.module.binary
    _check_decodes(s, world, lines)
    assert all(x.isprintable() for x in lines)
