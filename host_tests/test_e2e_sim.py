"""End to end on the virtual clock: the app, the session, the BP35A1 + meter simulator and a local
Ambient stand-in over real HTTP. The posted d1-d5 are checked against the simulated meter itself."""

import demo
import harness
import pytest
import run as host_run
from fake_ambient import FakeAmbient
from testkit import fill_view

JST = 9 * 3600
RBID = harness.bp35a1.DEFAULT_ID
PWD = harness.bp35a1.DEFAULT_PASSWORD
WKEY = demo.WRITE_KEY


def unix(y, m, d, hh=0, mm=0):
    """Unix seconds of a JST local time."""
    import billing

    return billing.days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 - JST


def make_world(start, **meter_kw):
    return harness.World(start=start, seed=3, meter_kw=meter_kw)


def make_app(world, tmp_path, url, **over):
    cfg = demo.config(url, **over)

    def post(url, body, timeout_s):
        return host_run.http_post(url, body, 2)  # short: a stalled stand-in must not slow the test

    return demo.app(cfg, world, tmp_path, http_post=post)


def run_app(a, world, seconds, stop=None):
    """Step the app, jumping the virtual clock from event to event (sim/demo.py)."""
    return demo.run_app(a, world.clock, int(seconds * 1000), world.module, stop)


def candidates(meter, created_ms, fn):
    """fn(meter time) for the seconds around a record's created time (reading and answer differ by ~1 s)."""
    t = created_ms / 1000
    return {fn(t + k) for k in (-3, -2, -1, 0, 1, 2)}


def expected_current(meter, t):
    r, tt = meter.current_da(t)
    if tt is not None and abs(tt) > abs(r):
        r = tt
    return round(r / 10, 1) + 0.0


def period_kwh(meter, t, start_unix, reverse=False):
    """kWh on the meter's counter between the period start (local midnight) and t, at its resolution."""
    wrap = 10**meter.digits
    return ((meter.raw(t, reverse) - meter.raw(start_unix, reverse)) % wrap) * meter.kwh_of(1)


def tepco_b_40_yen(kwh):
    """TEPCO's published 従量電灯B at 40 A, worked in integers (not lib/billing): 1,247.00 yen a month,
    29.80 yen/kWh up to 120 kWh, 36.40 up to 300, 40.49 beyond, on the period's kWh rounded to whole
    kWh (half up, as the bill does); floored to yen. kwh: to the Wh at most (d3 has 2 decimals)."""
    k = (round(kwh * 1000) + 500) // 1000  # whole kWh, half up
    energy = min(k, 120) * 2980 + max(0, min(k, 300) - 120) * 3640 + max(0, k - 300) * 4049
    return (124700 + energy) // 100  # hundredths of a yen -> yen


def test_the_tariff_oracle_by_hand():
    # 100.31 kWh -> 100 kWh: 1,247.00 + 100 x 29.80 (2,980.00) = 4,227.00 -> 4,227
    # 308.57 kWh -> 309 kWh: 1,247.00 + 3,576.00 + 6,552.00 + 9 x 40.49 (364.41) = 11,739.41 -> 11,739
    # 0.49 kWh -> 0 kWh: the basic charge alone, 1,247
    assert tepco_b_40_yen(100.31) == 4227 and tepco_b_40_yen(308.57) == 11739 and tepco_b_40_yen(0.49) == 1247


def check_records(records, meter, period_start, reverse=False):
    assert records
    for rec in records:
        c = rec["created"]
        powers = candidates(meter, c, lambda t: round(meter.power_w(t) / 1000, 3) + 0.0)
        assert rec["d2"] in powers, (rec, powers)
        currents = candidates(meter, c, lambda t: expected_current(meter, t))
        assert rec["d1"] in currents, (rec, currents)
        kwhs = candidates(meter, c, lambda t: round(period_kwh(meter, t, period_start), 2))
        assert any(abs(rec["d3"] - k) < 1e-6 for k in kwhs), (rec, kwhs)
        assert rec["d4"] == tepco_b_40_yen(rec["d3"]), rec
        if reverse:
            exports = candidates(meter, c, lambda t: round(period_kwh(meter, t, period_start, True), 2))
            assert any(abs(rec["d5"] - k) < 1e-6 for k in exports), (rec, exports)
        else:
            assert "d5" not in rec


@pytest.fixture
def ambient_server():
    fake = FakeAmbient(write_keys={demo.CHANNEL: WKEY}, enforce_limits=True)
    fake.start()
    yield fake
    fake.stop()


def test_import_across_a_month_boundary(tmp_path, ambient_server):
    # 3 December, reading day 22: the billing period began on 22 November
    world = make_world(unix(2026, 12, 3, 10, 0))
    ambient_server.clock = world.clock.wall
    a = make_app(world, tmp_path, ambient_server.url)
    run_app(a, world, 900)
    recs = ambient_server.records
    assert len(recs) >= 25, len(recs)
    assert all(r["channel"] == demo.CHANNEL and r["via"] in ("data", "dataarray") for r in recs)
    check_records(recs, world.meter, unix(2026, 11, 22))
    assert all(r["d2"] > 0 for r in recs)
    assert recs[-1]["d3"] > 100  # eleven days of a household's consumption
    v = fill_view(a)
    assert v.period == (11, 22, 12, 21)
    assert a.amb.failed == 0 and len(a.amb.backlog) == 0
    assert a.session.counters["requests"] <= 900 / 10 + 10  # about one radio request per refresh


def test_export_and_single_phase_current(tmp_path, ambient_server):
    # a sunny June noon with 6 kW of solar on a 2-wire meter: power and current are negative
    world = make_world(unix(2026, 6, 10, 11, 30), solar=6000, wires=2)
    ambient_server.clock = world.clock.wall
    a = make_app(world, tmp_path, ambient_server.url, collect_date=1)
    run_app(a, world, 600)
    recs = ambient_server.records
    assert len(recs) >= 15
    check_records(recs, world.meter, unix(2026, 6, 1), reverse=True)
    assert sum(r["d2"] < 0 for r in recs) > len(recs) // 2
    assert all(r["d1"] < 0 for r in recs if r["d2"] < 0)
    assert a.session.reading.current_t_da is None
    assert recs[-1]["d5"] > 0


def test_backlog_flush_after_an_outage_loses_nothing(tmp_path, ambient_server):
    world = make_world(unix(2026, 12, 3, 20, 0))
    ambient_server.clock = world.clock.wall
    a = make_app(world, tmp_path, ambient_server.url)
    run_app(a, world, 300)
    before = len(ambient_server.records)
    ambient_server.fail(10**6, 500)  # Ambient answers 500 ...
    run_app(a, world, 900)
    ambient_server.clear_faults()
    ambient_server.drop(3)  # ... then drops a few connections ...
    run_app(a, world, 120)
    assert len(a.amb.backlog) > 20
    assert len(ambient_server.records) == before
    run_app(a, world, 600)  # ... and then works again
    recs = ambient_server.records
    assert len(a.amb.backlog) == 0
    created = [r["created"] for r in recs]
    assert created == sorted(created) and len(set(created)) == len(created)
    gaps = [(b - x) / 1000 for x, b in zip(created, created[1:], strict=False)]
    assert all(25 <= g <= 35 for g in gaps), gaps  # a record for every 30 s: nothing lost
    total_s = world.clock.now_ms / 1000
    assert abs(len(recs) - total_s / 30) <= 2
    assert any(r["via"] == "dataarray" for r in recs)
    check_records(recs, world.meter, unix(2026, 11, 22))
    posts = [p for p in ambient_server.posts if p[1] == 200]
    assert all(n <= a.amb.batch for _, _, n in posts)
    # the stand-in enforces 5 s between requests and 3000 a day: no 429 was ever needed
    assert not any(p[1] == 429 for p in ambient_server.posts)
    assert a.amb.failed >= 4


def test_restart_in_the_middle_sends_the_backlog(tmp_path, ambient_server):
    world = make_world(unix(2026, 12, 3, 20, 0))
    ambient_server.clock = world.clock.wall
    a = make_app(world, tmp_path, ambient_server.url)
    run_app(a, world, 200)
    ambient_server.fail(10**6, 503)
    run_app(a, world, 300)
    waiting = len(a.amb.backlog)
    assert waiting >= 8
    a.close(3000, world.clock.advance)
    ambient_server.clear_faults()
    b = make_app(world, tmp_path, ambient_server.url)  # a reboot: flash files survive
    assert len(b.amb.backlog) == waiting
    run_app(b, world, 200)
    assert len(b.amb.backlog) == 0
    created = [r["created"] for r in ambient_server.records]
    gaps = [(y - x) / 1000 for x, y in zip(created, created[1:], strict=False)]
    assert created == sorted(created)
    assert max(gaps) <= 60, gaps  # only the reboot itself (rejoin, first reading) leaves a gap


def test_app_keeps_the_screen_and_buttons_alive_while_scanning(tmp_path, ambient_server):
    world = make_world(unix(2026, 12, 3, 10, 0))
    world.faults.scan_misses = 2  # two empty scans before the meter is found
    presses = ["B", "B", "B"]
    a = make_app(world, tmp_path, ambient_server.url)
    a._buttons = lambda: presses.pop(0) if presses and world.clock.now_ms > 3000 else None
    import canvas

    fb = canvas.Canvas(160, 80)
    a.fb = fb
    screens_seen = set()
    a._show = lambda: screens_seen.add(a.screen_name())  # called after each redraw
    run_app(a, world, 60)
    assert "connecting" in screens_seen and "today" in screens_seen and "diagnostics" in screens_seen
    assert a.draws > 20, "the screen is redrawn during the scan"
    assert a.session.reading is not None
