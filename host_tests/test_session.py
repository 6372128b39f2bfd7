"""Session driver against the simulator: start-up, boots, dialects, readings, baseline, history."""

import bp35a1
import pytest
import session
import test_session_util as util
from session import join

# ECHONET Lite ESVs (lib/meter/echonet.py docstring)
ESV_INFC = 0x74

ID = util.ID
PASSWORD = util.PASSWORD
make_rig = util.make_rig  # the fixture

GET = 0x62
SETC = 0x61


def test_cold_boot_scans_joins_and_reads_the_meter(make_rig):
    rig = make_rig()
    s = rig.session
    assert s.state == "start" and s.reading is None
    took = rig.first_reading()
    assert took <= 25000
    rig.expect_model()
    assert s.status == "Connected" and s.error is None
    assert rig.module.stats["scans"] == [4]
    assert rig.module.stats["flash_writes"] == 1  # the module shipped binary: WOPT 01 once
    assert s.info["channel"] == "2F" and s.info["pan_id"] == "A0E6" and s.info["version"] == "1.2.10"
    assert s.info["addr"] == bp35a1.METER_MAC and s.info["hex"] is True
    # start-up order: echo off first, an old session ended, credentials before the scan
    cmds = [line.split(b" ")[0] for line in rig.module.lines]
    assert cmds[:8] == [
        b"SKSREG",
        b"SKTERM",
        b"SKVER",
        b"ROPT",
        b"WOPT",
        b"SKSETPWD",
        b"SKSETRBID",
        b"SKSCAN",
    ]
    assert rig.commands(b"SKSETPWD") == [b"SKSETPWD C " + PASSWORD.encode()]
    assert "INFO set password (12 chars)" in rig.lines
    assert "INFO set B-route ID (32 chars)" in rig.lines
    assert not rig.commands(b"SKLL64")  # computed locally


def test_one_request_per_refresh_and_one_round_trip_each(make_rig):
    rig = make_rig(reading_day=1)
    s = rig.session
    rig.first_reading()
    rig.run(30000)  # D3/E1/D7 and the baseline
    n0 = rig.module.stats["sendto"]
    r0 = s.counters["requests"]
    times = []
    for _ in range(30):
        t0 = rig.clock.now_ms
        rig.next_reading()
        times.append(rig.clock.now_ms - t0)
        rig.expect_model()
    assert rig.module.stats["sendto"] - n0 == 30
    assert s.counters["requests"] - r0 == 30
    # one Get with E7 + E8 + E0 (+E3) per refresh
    epcs = {r[3] for r in rig.sent(GET, 0xE7)[-30:]}
    assert epcs == {b"\xe7\xe8\xe0"}  # this meter refuses E3 (no reverse metering)
    # readings come every 10 s, each 1.0 s meter latency + UART time after its request
    reads = rig.sent(GET, 0xE7)[-30:]
    gaps = [b[0] - a[0] for a, b in zip(reads, reads[1:], strict=False)]
    assert set(gaps) == {10000}
    assert s.reading.t - (reads[-1][0] & ((1 << 30) - 1)) < 1200


def test_info_once_per_session_and_d3_refused_means_coefficient_1(make_rig):
    rig = make_rig(meter_kw={"d3": False, "coefficient": 1, "unit_code": 0x02})
    s = rig.session
    rig.first_reading()
    rig.run(60000)
    info = rig.sent(GET, 0xD7)
    assert len(info) == 1 and info[0][3] == b"\xd3\xe1\xd7"
    assert s._scale == (1, 0.01, 6)  # coefficient, kWh per unit, digits
    rig.expect_model()
    assert s.reading.cumulative_kwh == pytest.approx(rig.meter.raw(rig.last_read()[4]) * 0.01)


def test_coefficient_from_d3_scales_kwh(make_rig):
    rig = make_rig(meter_kw={"coefficient": 10, "unit_code": 0x01})
    rig.first_reading()
    rig.run(20000)
    t = rig.expect_model()
    assert rig.session.reading.cumulative_kwh == pytest.approx(rig.meter.raw(t) * 10 * 0.1)


def test_warm_boot_joins_the_cached_pan_without_scanning(make_rig):
    rig = make_rig()
    rig.first_reading()
    rig.run(20000)
    s2 = rig.boot()
    took = rig.first_reading()
    assert took <= 8000
    assert rig.module.stats["scans"] == [4]  # the first boot's scan only
    assert rig.module.stats["flash_writes"] == 1  # WOPT at most once across boots
    assert s2.counters["scans"] == 0 and "INFO joining the cached PAN (no scan)" in rig.lines
    rig.expect_model()


def test_warm_boot_after_module_power_cycle(make_rig):
    rig = make_rig()
    rig.first_reading()
    rig.module.power_cycle()
    rig.boot()
    assert rig.first_reading() <= 8000
    assert rig.module.stats["scans"] == [4] and rig.module.stats["flash_writes"] == 1
    rig.expect_model()


def test_cached_pan_that_fails_falls_back_to_a_fresh_scan(make_rig):
    rig = make_rig()
    rig.first_reading()
    rig.module.power_cycle()
    rig.module.channel = 0x33  # the meter moved to another channel
    s2 = rig.boot()
    rig.first_reading()
    assert rig.module.stats["scans"] == [4, 4]
    assert s2.info["channel"] == "33" and s2.counters["rescans"] == 1
    assert s2._store.get("pan")["channel"] == "33"
    rig.expect_model()


def test_rl7023_is_hex_only_and_never_gets_wopt(make_rig):
    rig = make_rig(module_kw={"dialect": "rl7023"})
    rig.first_reading()
    assert not rig.commands(b"WOPT") and rig.module.stats["flash_writes"] == 0
    assert rig.session.info["hex"] is True
    rig.expect_model()


def test_binary_erxudp_works_when_the_module_stays_binary(make_rig):
    rig = make_rig(meter_kw={"solar": 5000})
    rig.faults.wopt_fail = True
    s = rig.session
    rig.first_reading()
    assert rig.module.binary and s.info["hex"] is False
    assert "WARN WOPT 01 failed: reading binary ERXUDP" in rig.lines
    for _ in range(20):
        rig.next_reading()
        rig.expect_model()
    assert s.counters["bad_lines"] == 0


def test_hex_module_is_left_alone(make_rig):
    rig = make_rig(module_kw={"binary": False})
    rig.first_reading()
    assert rig.commands(b"ROPT") and not rig.commands(b"WOPT")
    assert rig.module.stats["flash_writes"] == 0


@pytest.mark.parametrize("configured", ["auto", "bp35c0"])
def test_bp35c0_dialect_configured_or_detected(make_rig, configured):
    rig = make_rig(module_kw={"dialect": "bp35c0", "rssi": True}, dialect=configured)
    s = rig.session
    rig.first_reading()
    assert s.info["dialect"] == "bp35c0"
    scans = rig.commands(b"SKSCAN")
    assert scans[-1] == b"SKSCAN 2 FFFFFFFF 4 0"
    assert len(scans) == (2 if configured == "auto" else 1)  # auto: refused once (ER05), then SIDE added
    assert rig.commands(b"SKSENDTO")[-1].split(b" ")[5] == b"0"
    rig.expect_model()
    rig.boot()  # the detected dialect is remembered
    rig.first_reading()
    assert len(rig.commands(b"SKSCAN")) == len(scans)
    rig.expect_model()


def test_solar_export_negative_power_and_reverse_energy(make_rig):
    rig = make_rig(meter_kw={"solar": 6000}, start=1732237200 + 2 * 3600, reading_day=20)  # 12:00 JST
    s = rig.session
    rig.first_reading()
    rig.run(60000)
    rig.expect_model()
    assert s.reading.power_w < 0 and s.reading.current_r_da < 0
    assert rig.sent(GET, 0xE7)[-1][3] == b"\xe7\xe8\xe0\xe3"
    assert s.period_reverse_kwh is not None and s.period_reverse_kwh > 0
    assert rig.sent(GET, 0xE2)[-1][3] == b"\xe2\xe4"


def test_two_wire_meter_has_no_t_current(make_rig):
    rig = make_rig(meter_kw={"wires": 2})
    rig.first_reading()
    rig.expect_model()
    assert rig.session.reading.current_t_da is None and rig.session.reading.current_r_da > 0


def test_e3_unsupported_is_dropped_after_the_first_get_sna(make_rig):
    rig = make_rig(meter_kw={"reverse": False})
    s = rig.session
    rig.first_reading()
    assert rig.sent(GET, 0xE7)[0][3] == b"\xe7\xe8\xe0\xe3"
    assert s.reading.power_w is not None  # the supported ones of the Get_SNA are used
    rig.run(30000)
    assert all(r[3] == b"\xe7\xe8\xe0" for r in rig.sent(GET, 0xE7)[1:])
    assert s.reading.reverse_kwh is None and s.period_reverse_kwh is None
    assert "INFO meter refuses EPC E3: no longer asked" in rig.lines


def _unix(y, mo, d, hh=0, mm=0):
    """Unix s of a JST wall time (independent of lib/billing)."""
    days = (y - 1970) * 365 + sum(1 for k in range(1970, y) if k % 4 == 0)
    days += sum((31, 29 if y % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[: mo - 1]) + d - 1
    return days * 86400 + hh * 3600 + mm * 60 - 32400


def _period_kwh(rig, start_day_local):
    """Model: kWh from 00:00 of the period start to the last read (counter resolution)."""
    m = rig.meter
    raw_now, raw_then = m.raw(rig.last_read()[4]), m.raw(_unix(*start_day_local))
    return (raw_now - raw_then) % 10**m.digits * m.coefficient * 0.1


def test_period_kwh_from_the_e2_baseline(make_rig):
    rig = make_rig(reading_day=5)  # 2024-11-22: the period started 2024-11-05 (E5 = 17)
    s = rig.session
    rig.first_reading()
    rig.until(lambda: s.period_kwh is not None, 60000)
    assert s.baseline == (2024, 11, 5)
    setc = rig.sent(SETC)
    assert len(setc) == 1
    hist = rig.sent(GET, 0xE2)
    assert len(hist) == 1 and hist[0][3] == b"\xe2"  # no E4: this meter refused E3
    assert rig.meter.day == 17
    rig.next_reading()
    assert s.period_kwh == pytest.approx(_period_kwh(rig, (2024, 11, 5)))
    assert s._store.get("baseline")[:3] == [2024, 11, 5]


def test_baseline_is_cached_in_the_store_and_refetched_once_a_day(make_rig):
    rig = make_rig(reading_day=5)
    s = rig.session
    rig.first_reading()
    rig.until(lambda: s.period_kwh is not None, 60000)
    rig.boot()
    s2 = rig.session
    rig.first_reading()
    rig.until(lambda: s2.period_kwh is not None, 80000)
    assert rig.count(SETC) == 1  # same day: taken from the store
    assert s2.period_kwh == pytest.approx(_period_kwh(rig, (2024, 11, 5)))
    rig.run(15 * 3600 * 1000)  # to 2024-11-23 01:00+
    assert rig.count(SETC) == 2  # the next day, once
    assert s2.period_kwh == pytest.approx(_period_kwh(rig, (2024, 11, 5)))


def test_new_period_at_midnight_of_the_reading_day(make_rig):
    rig = make_rig(reading_day=23)  # period 2024-10-23 .. 11-22; next starts 11-23
    s = rig.session
    rig.first_reading()
    rig.until(lambda: s.period_kwh is not None, 60000)
    assert s.baseline == (2024, 10, 23)
    big = s.period_kwh
    rig.run((14 * 3600 + 6 * 60) * 1000)  # 2024-11-23 00:06
    rig.until(lambda: s.baseline == (2024, 11, 23), 120000)
    rig.next_reading()
    assert s.period_kwh < 1.0 < big
    assert s.period_kwh == pytest.approx(_period_kwh(rig, (2024, 11, 23)))
    assert rig.sent(SETC)[-1][3] == b"\xe5"


def test_d7_wrap_in_the_period(make_rig):
    # counter 999,990 x 0.1 kWh at 00:00 of the period start: it wraps during the period
    rig = make_rig(meter_kw={"digits": 6, "initial_kwh": 99999.0}, reading_day=21)
    s = rig.session
    rig.first_reading()
    rig.until(lambda: s.period_kwh is not None, 60000)
    rig.next_reading()
    assert s.reading.cumulative_raw < 1000 < s._base[3]
    assert 5 < s.period_kwh < 60
    assert s.period_kwh == pytest.approx(_period_kwh(rig, (2024, 11, 21)))


def test_no_wall_clock_no_period_figures(make_rig):
    rig = make_rig(reading_day=5, wall=False)
    s = rig.session
    rig.first_reading()
    rig.run(120000)
    assert s.period_kwh is None and s.baseline is None and not rig.sent(SETC)
    rig.expect_model()


def test_today_history_on_request_at_most_every_30_min(make_rig):
    rig = make_rig()
    s = rig.session
    rig.first_reading()
    rig.run(10 * 60 * 1000)  # 10:10: ten minutes into the half hour from 10:00
    s.request_today()
    rig.until(lambda: s.today is not None, 30000)
    y, m, d, usage = s.today
    assert (y, m, d) == (2024, 11, 22)
    h = rig.meter.history(0, rig.meter.start_unix + rig.clock.now_ms / 1000)
    for i in range(20):
        assert usage[i] == round((h[i + 1] - h[i]) * 100)  # Wh (unit 0.1 kWh)
    # 10:00 - now: from the latest reading's count, in 0.1 kWh = 100 Wh steps
    assert usage[20] == (s.reading.cumulative_raw - h[20]) * 100, (usage[20], s.reading.cumulative_raw, h[20])
    assert usage[20] > 0  # a household uses something in ten minutes
    assert usage[21:] == [None] * 27
    assert rig.sent(SETC)[-1][3] == b"\xe5"
    n = rig.count(GET, 0xE2)
    s.request_today()
    rig.run(20 * 60 * 1000)
    assert rig.count(GET, 0xE2) == n  # not again within 30 min
    rig.run(11 * 60 * 1000)
    assert rig.count(GET, 0xE2) == n + 1


def test_instance_list_and_pushes_are_never_taken_for_the_answer(make_rig):
    rig = make_rig(module_kw={"push_esv": ESV_INFC})
    s = rig.session
    rig.first_reading()
    rig.run(2000)
    assert s.counters["unsolicited"] >= 1  # the instance list arrived after the join
    rig.run(66 * 60 * 1000)  # 10:30 and 11:00 pushes, each up to 5 min late
    rig.expect_model()
    assert rig.module.stats["pushes"] == 2
    assert rig.meter.infc_res == rig.module.stats["pushes"] == s.counters["infc_res"]
    when, kwh = s.fixed_normal
    assert when[4] in (0, 30) and when[5] == 0
    assert kwh == pytest.approx(rig.meter.kwh_of(rig.meter.raw(_unix(*when[:5]))))


def test_ticks_wrap_during_the_session(make_rig):
    rig = make_rig(start_ticks=(1 << 30) - 30000)
    rig.first_reading()
    rig.run(120000)
    rig.expect_model()
    assert rig.session.counters["timeouts"] == 0


def test_close_ends_the_session_politely(make_rig):
    rig = make_rig()
    s = rig.session
    rig.first_reading()
    assert s.close(3000, idle=rig.clock.advance) is True
    assert s.state == "closed" and rig.commands(b"SKTERM") and rig.module.session is None
    s2 = rig.boot()
    assert s2.close(1000, idle=rig.clock.advance) is False  # nothing to end


def test_wait_ms_is_bounded_and_polls_are_sparse(make_rig):
    rig = make_rig()
    s = rig.session
    polls = [0]
    waits = []

    def count():
        polls[0] += 1
        waits.append(s.wait_ms())

    import harness

    rig.first_reading()
    harness.run(s, rig.module, rig.clock.now_ms + 600000, on_poll=count)
    assert 0 <= min(waits) and max(waits) <= 1000
    assert polls[0] < 60 * 25  # event driven: far fewer polls than a 10 ms loop would make


def test_ll64_and_scan_time():
    assert join.ll64("001c640003dd6393") == "FE80:0000:0000:0000:021C:6400:03DD:6393"
    assert join.scan_ms(6) == bp35a1.scan_ms(6)
    with pytest.raises(ValueError):
        join.ll64("123")
    assert ID not in repr(session.Session.__init__.__defaults__)


@pytest.mark.parametrize(
    "pan,baseline",
    [
        ("garbage", [1, 2]),
        ({"channel": "ZZ", "pan_id": "A0E6", "addr": "001C640003DD6393"}, "x"),
        ({"channel": "2F"}, [2024, 11, 5, None, None, 2024, 11, 22]),
    ],
)
def test_a_damaged_store_means_a_scan_not_a_crash(make_rig, pan, baseline):
    rig = make_rig(reading_day=5)
    st = rig.session._store
    st.set("pan", pan)
    st.set("baseline", baseline)
    st.save()
    s = rig.boot(reading_day=5)
    rig.first_reading()
    rig.until(lambda: s.period_kwh is not None, 60000)
    assert rig.module.stats["scans"] == [4] and s.counters["rescans"] == 1
    assert s.baseline == (2024, 11, 5)


def test_the_longest_line_fits_the_line_buffer(make_rig):
    # the baseline's Get E2+E4 answer as hex ERXUDP with RSSI and SIDE (BP35C0) is the longest
    # line the session must hold (~940 B; the session's LineReader holds 1,024 B while a history
    # fetch runs, 384 B otherwise)
    rig = make_rig(
        module_kw={"dialect": "bp35c0", "rssi": True, "binary": False},
        meter_kw={"solar": 6000},
        start=1732237200 + 2 * 3600,
        reading_day=20,
    )
    s = rig.session
    longest = [0]
    sizes = set()  # the reader's buffer when a line longer than 384 B was sent
    emit = rig.module._erxudp

    def measure(*args, **kw):
        line = emit(*args, **kw)
        longest[0] = max(longest[0], len(line))
        if len(line) > 384:
            sizes.add(s._reader._size)
        return line

    rig.module._erxudp = measure
    rig.first_reading()
    rig.until(lambda: s.period_reverse_kwh is not None, 60000)
    assert rig.sent(GET, 0xE2)[-1][3] == b"\xe2\xe4"
    assert 900 < longest[0] <= 1000, longest[0]
    assert s._reader.dropped == 0 and s.counters["bad_lines"] == 0
    assert sizes == {1024}
    rig.until(lambda: s._fetch is None, 60000)  # no day waits: the fetcher goes, the buffer shrinks
    assert s._reader._size == 384
