"""The bill end to end (issue 12): the app against the BP35A1 + meter simulator on the virtual clock
for a simulated month, across a meter-reading day and a month boundary, with a time-of-use tariff,
dated fuel-cost adjustments and the levy. The period's yen is checked against a hand computation
from the simulated meter's own half-hour counts (not lib/billing); a reboot does not fetch the
cached days again.

Speed: readings every 120 s (refresh_interval); the virtual clock jumps from event to event, and
5 s at a time while the app is idle (run()).
"""

import datetime

import demo
import harness
from billing import usage
from testkit import fill_view
from ui import diagnostics

JST = 9 * 3600
FUEL_OLD = 1  # tariff.FUEL_OLD: a month without its own fuel-cost figure used an earlier one's

# The test's tariff. Rates are in hundredths of a yen per kWh in the hand computation below.
TARIFF = {
    "name": "test TOU",
    "basic": {"40": 1247.00},
    "bands": [
        {"name": "night", "time": "01:00-06:00", "yen": 27.86},
        {"name": "off", "days": "off", "yen": 30.12},
        {"name": "day", "yen": 35.76},
    ],
    "days_off": ["sat", "sun", "holidays"],
    "adjustments": {
        "fuel": {"2026-10": -1.52, "2026-11": -1.23},  # none for December: November's applies
        "fuel_by": "use",
        "levy": {"2026-05": 3.98},
    },
}
BASIC = 124700  # 1,247.00 yen
RATE = {"night": 2786, "off": 3012, "day": 3576}
FUEL = {(2026, 10): -152, (2026, 11): -123, (2026, 12): -123}  # December: the latest known
LEVY = 398
# The Cabinet Office's national holidays in October-December 2026 (syukujitsu.csv)
HOLIDAYS = {(2026, 10, 12), (2026, 11, 3), (2026, 11, 23)}
METER = {"unit_code": 0x03, "digits": 8}  # E1 0.001 kWh: the counts are Wh


def unix(y, m, d, hh=0, mm=0):
    """Unix s of a JST time (datetime: independent of lib/billing)."""
    return int(datetime.datetime(y, m, d, hh, mm, tzinfo=datetime.UTC).timestamp()) - JST


def band(day, slot):
    """The test tariff's band of half hour slot (0-47) on datetime.date day."""
    if 2 <= slot < 12:  # 01:00-06:00
        return "night"
    if day.weekday() >= 5 or (day.year, day.month, day.day) in HOLIDAYS:
        return "off"
    return "day"


def half_hours(meter, start, now_t, latest_raw):
    """{(band, (y, m)): Wh} of the period from date start to meter time now_t, from the meter's own
    counts at each half hour (E2's figures) and, for the half hour in progress, latest_raw (the E0
    the app read last)."""
    wrap = 10**meter.digits
    today = datetime.date(*meter.local(now_t)[:3])
    out = {}
    day = start
    while day <= today:
        ago = (today - day).days
        counts = meter.history(ago, now_t)  # 48 counts at 00:00 .. 23:30 (None: not yet)
        nxt = meter.history(ago - 1, now_t)[0] if ago else None
        for s in range(48):
            a = counts[s]
            if a is None:
                break
            b = counts[s + 1] if s < 47 else nxt
            if b is None:
                b = latest_raw  # the half hour in progress
            k = (band(day, s), (day.year, day.month))
            out[k] = out.get(k, 0) + (b - a) % wrap * meter.kwh_of(1) * 1000
        day += datetime.timedelta(days=1)
    return {k: round(v) for k, v in out.items()}


def hand_bill(wh, first_month):
    """The yen as the bill computes it (docs/tariffs.md), in integers: each band's kWh rounded half up;
    basic + energy + fuel-cost adjustment floored to yen; the levy floored to yen on its own."""
    kwh = {}
    for (b, _), v in wh.items():
        kwh[b] = kwh.get(b, 0) + v
    kwh = {b: (v + 500) // 1000 for b, v in kwh.items()}
    k = sum(kwh.values())
    k0 = min((sum(v for (_, ym), v in wh.items() if ym == first_month) + 500) // 1000, k)
    y, m = first_month
    second = (y + 1, 1) if m == 12 else (y, m + 1)
    total = BASIC + sum(RATE[b] * kwh[b] for b in kwh) + FUEL[first_month] * k0 + FUEL[second] * (k - k0)
    return max(total, 0) // 100 + k * LEVY // 100, k


def test_the_hand_computation_by_hand():
    # 100.4 kWh at night, 20.6 off, 200.5 day in November; 10.0 day in December:
    # kWh per band: 100, 21, 211 (332); November 321 (321.5 rounded half up: 322 -> min 332);
    # 1,247.00 + 100 x 27.86 + 21 x 30.12 + 211 x 35.76 = 1,247.00 + 2,786.00 + 632.52 + 7,545.36
    # = 12,210.88; fuel 322 x -1.23 + 10 x -1.23 = -408.36 -> 11,802.52 -> 11,802;
    # levy 332 x 3.98 = 1,321.36 -> 1,321; total 13,123
    wh = {
        ("night", (2026, 11)): 100400,
        ("off", (2026, 11)): 20600,
        ("day", (2026, 11)): 200500,
        ("day", (2026, 12)): 10000,
    }
    assert hand_bill(wh, (2026, 11)) == (13123, 332)
    assert band(datetime.date(2026, 11, 23), 20) == "off" and band(datetime.date(2026, 11, 24), 20) == "day"
    assert band(datetime.date(2026, 11, 24), 2) == "night" and band(datetime.date(2026, 11, 28), 12) == "off"


def make_app(world, tmp_path):
    cfg = demo.config(None, charge_func=None, tariff=TARIFF, refresh_interval=120)
    return demo.app(cfg, world, tmp_path, history_path=str(tmp_path / "usage.days"))


def run(a, world, ms, stop=None):
    """sim/demo.py's run_app, but an idle app (step() asks for 1 s, the longest it may) is stepped
    again 5 s later unless the simulated module has something sooner: a month takes 5x fewer
    steps; the session's own timers (the next reading, a deadline) are at most 5 s late."""
    clock, module = world.clock, world.module
    end = clock.now_ms + ms
    while clock.now_ms < end:
        module.update()
        wait = a.step()
        if stop is not None and stop():
            return True
        target = clock.now_ms + (5000 if wait >= 1000 else max(wait, 1))
        nxt = module.next_event_ms()
        if nxt is not None and nxt < target:
            target = max(nxt, clock.now_ms + (wait == 0))
        clock.advance_to(min(target, end))
    return False


def run_to(a, world, y, m, d, hh, mm):
    """Run the app to JST (y, m, d, hh:mm), then to its next reading (a fresh one)."""
    run(a, world, (unix(y, m, d, hh, mm) - world.clock.wall()) * 1000)
    t = a.session.reading.t
    assert run(a, world, 180000, lambda: a.session.reading.t != t)


def check_bill(a, world, start, first_month, flags):
    """The app's yen against the hand computation, at the app's last reading."""
    s = a.session
    r = s.reading
    now_t = world.module.meter_time()
    wh = half_hours(world.meter, start, now_t, r.cumulative_raw)
    period_wh = round(s.period_kwh * 1000)
    assert sum(wh.values()) == period_wh, (wh, period_wh)  # the app's baseline is the meter's
    yen, k = hand_bill(wh, first_month)
    assert a.charge_yen == yen, (a.charge_yen, yen, wh)
    assert a.bill[0] == yen and a.bill[1] == flags
    # the forecast: at least what is used so far, about the last 7 days' pace for the days left
    assert a.bill[3] >= yen and a.bill[2] >= period_wh
    assert fill_view(a).forecast_yen == a.bill[3] and a.view.bill_flags == flags
    assert diagnostics._bill(flags) == (("Bill: fuel old",) if flags else ())  # the words on the screen
    rec = a.make_record(a.clock())
    assert rec["d4"] == yen and rec["d6"] == a.bill[3]
    # d7: today's half hours as last fetched (at most 30 min old): between the meter's count 30 min
    # ago and now, since 00:00
    today = datetime.date(*world.meter.local(now_t)[:3])
    midnight = world.meter.history(0, now_t)[0]
    lo = (world.meter.raw(now_t - 1860) - midnight) / 1000
    hi = (r.cumulative_raw - midnight) / 1000
    assert lo - 0.01 <= rec["d7"] <= hi + 0.01, (rec["d7"], lo, hi, today)
    f = a.figures()
    assert f["forecast_yen"] == a.bill[3] and f["today_kwh"] * 1000 == a.today_wh()
    assert abs(f["forecast_kwh"] * 1000 - a.bill[2]) < 1
    return k


def test_a_month_across_a_reading_day_and_a_month_boundary(tmp_path):
    # 14 November 10:00 JST, reading day 22: the period began on 22 October; the history of
    # 22 October .. 13 November is fetched a few days at a time and cached
    world = harness.World(start=unix(2026, 11, 14, 10, 0), seed=3, meter_kw=METER)
    a = make_app(world, tmp_path)
    sent = []
    handle = world.meter.handle

    def spy(data, t, *args):
        if len(data) > 14 and data[10] == 0x61 and data[12] == 0xE5:  # SetC E5 = days ago
            sent.append(data[14])
        return handle(data, t, *args)

    world.meter.handle = spy
    # the last day of the period from 22 October: October and November, fuel-cost figures of both
    run_to(a, world, 2026, 11, 21, 15, 10)
    assert a.last_error is None, a.last_error
    k = check_bill(a, world, datetime.date(2026, 10, 22), (2026, 10), 0)
    assert k > 250  # a month of a household's consumption
    assert set(range(1, 24)) <= set(sent)  # 22 October .. 13 November: the whole period fetched
    # across 22 November (the reading day: a new period) and 1 December (a new month); December
    # has no fuel-cost figure of its own: November's applies and the diagnostics say so
    run_to(a, world, 2026, 12, 15, 15, 10)
    assert a.last_error is None, a.last_error
    check_bill(a, world, datetime.date(2026, 11, 22), (2026, 11), FUEL_OLD)
    assert a.session.baseline == (2026, 11, 22)
    # past days over the 31 days, about 5 a day: yesterday again (its last half hour was still
    # counting when it was today), the session's daily baseline check (the period's first day),
    # the day after each (its 00:00 value); the first day's 23. Today's: every 30 min
    past = [k for k in sent if k]
    assert len(past) < 180, len(past)
    assert len(sent) - len(past) < 32 * 50, len(sent)  # (and for yesterday's 23:30, its 00:00)


def test_a_reboot_does_not_fetch_the_cached_days_again(tmp_path):
    # 2 December 10:00 JST, reading day 22: the period began on 22 November (10 days)
    world = harness.World(start=unix(2026, 12, 2, 10, 0), seed=5, meter_kw=METER)
    a = make_app(world, tmp_path)
    sent = []
    handle = world.meter.handle

    def spy(data, t, *args):
        if len(data) > 14 and data[10] == 0x61 and data[12] == 0xE5:
            sent.append(data[14])
        return handle(data, t, *args)

    world.meter.handle = spy
    demo.run_app(a, world.clock, 3600 * 1000, world.module)
    assert set(range(1, 11)) <= set(sent)  # 22 November .. 1 December: all fetched
    path = str(tmp_path / "usage.days")
    for d in range(22, 31):
        assert usage.load_day(path, 2026, 11, d) is not None
    assert usage.load_day(path, 2026, 12, 1) is not None
    yen = a.charge_yen
    a.close(3000, world.clock.advance)
    # a reboot: a new App on the same flash files. Its first bill, before any history answer,
    # already has the forecast (the pace of the 7 cached days before today); in 30 min only
    # today is fetched
    del sent[:]
    b = make_app(world, tmp_path)
    assert demo.run_app(b, world.clock, 600 * 1000, world.module, lambda: b.bill is not None)
    assert b.bill[2] is not None and b.charge_yen >= yen
    demo.run_app(b, world.clock, 1800 * 1000, world.module)
    assert set(sent) <= {0}, sent  # 0: today's half hours
    assert b.last_error is None, b.last_error
