"""billing.usage: the history cache on flash, refresh(), the forecast, estimate() (runs on MicroPython too).

Expected figures are worked out by hand in the comments.
"""

import billing
from billing import tariff, usage
from testkit import tmp

NIGHT = 300  # Wh per half hour 01:00-06:00 (10 half hours: 3000 Wh)
DAY = 100  # Wh per other half hour (38 half hours: 3800 Wh); a day: 6800 Wh


def _profile():
    return [NIGHT if 2 <= s < 12 else DAY for s in range(48)]


def _flat(wh):
    return [wh] * 48


def test_store_load_merge_and_ring():
    p = tmp("hist_a.bin")
    assert usage.load_day(p, 2026, 11, 5) is None  # no file yet
    day = [None if s == 47 else s * 10 for s in range(48)]
    assert usage.store_day(p, 2026, 11, 5, day)
    assert usage.load_day(p, 2026, 11, 5) == day
    assert usage.load_day(p, 2026, 11, 6) is None
    # an answer that lacks a half hour keeps the cached figure; a new one fills the gap
    again = [None] * 47 + [99]
    assert usage.store_day(p, 2026, 11, 5, again)
    assert usage.load_day(p, 2026, 11, 5) == [s * 10 for s in range(47)] + [99]
    # values are clamped to 0 .. 65534 Wh
    usage.store_day(p, 2026, 11, 6, [-5, 70000] + [1] * 46)
    assert usage.load_day(p, 2026, 11, 6)[:3] == [0, 65534, 1]
    # 40 days later the ring reuses the record: the old day is gone
    n = billing.days_from_civil(2026, 11, 5) + 40
    y, m, d = billing.civil_from_days(n)
    usage.store_day(p, y, m, d, _flat(7))
    assert usage.load_day(p, 2026, 11, 5) is None
    assert usage.load_day(p, y, m, d) == _flat(7)
    import os

    assert os.stat(p)[6] == 40 * 102  # 40 records of 102 bytes


def test_corrupt_record_is_not_used():
    p = tmp("hist_b.bin")
    usage.store_day(p, 2026, 11, 5, _flat(100))
    n = billing.days_from_civil(2026, 11, 5)
    with open(p, "r+b") as f:
        f.seek(n % 40 * 102 + 10)
        f.write(b"\x01")  # a torn write: one Wh byte changed
    assert usage.load_day(p, 2026, 11, 5) is None


def test_wanted_days():
    p = tmp("hist_c.bin")
    # today 2026-11-11, reading day 1: period days 11/1 .. 11/10, and the 7 days before today
    # (11/4 .. 11/10, inside the period): days ago 1 .. 10, newest first
    assert usage.wanted(p, 1, 2026, 11, 11, 3) == [1, 2, 3]
    assert usage.wanted(p, 1, 2026, 11, 11, 20) == list(range(1, 11))
    for d in range(1, 11):
        if d != 5:
            usage.store_day(p, 2026, 11, d, _flat(100))
    assert usage.wanted(p, 1, 2026, 11, 11, 3) == [6]  # 11/5 is missing
    # early in a period the 7 days before today reach into the last one: reading day 9, today
    # 11/10: the period holds 11/9 only, the pace wants 11/3 .. 11/9, of which 11/5 (5 days ago)
    assert usage.wanted(p, 9, 2026, 11, 10, 20) == [5]
    # reading day 9, today 11/3: the period from 10/9 (25 days ago); 11/1 and 11/2 are cached
    assert usage.wanted(p, 9, 2026, 11, 3, 30) == list(range(3, 26))
    # a day with a gap is asked again until TRIES answers brought nothing new
    day = _flat(100)
    day[10] = None
    usage.store_day(p, 2026, 11, 5, day)
    assert usage.wanted(p, 1, 2026, 11, 11, 3) == [6]
    usage.store_day(p, 2026, 11, 5, day)
    assert usage.wanted(p, 1, 2026, 11, 11, 3) == [6]
    usage.store_day(p, 2026, 11, 5, day)  # the third answer without the half hour
    assert usage.wanted(p, 1, 2026, 11, 11, 3) == []


def test_refresh_estimate_and_forecast_by_hand():
    p = tmp("hist_d.bin")
    t = tariff.load(tariff={"tiers": [[None, 30]]})
    # reading day 1: the period 2026-11-01 .. 11-30; now 11/11 12:15 (half hour 24 in progress)
    for d in range(1, 11):
        usage.store_day(p, 2026, 11, d, _flat(100))
    today = (2026, 11, 11, [100] * 24 + [None] * 24)
    per = usage.refresh(t, p, 1, (2026, 11, 11, 12, 15), today)
    assert (per.sy, per.sm, per.sd, per.ny, per.nm, per.nd) == (2026, 11, 1, 2026, 12, 1)
    # history: 10 days * 4800 + today 24 * 100 = 48,000 + 2,400 = 50,400 Wh
    assert per.wh == [50400, 0] and per.hist == 50400 and per.today == 2400
    assert per.missing == 0 and per.pace_days == 7
    assert per.at == billing.days_from_civil(2026, 11, 11) * 48 + 24
    # the meter says 50,450 Wh since the reading day: 50 Wh in the half hour in progress
    # 50,450 Wh -> 50 kWh * 30 = 1500 yen
    # forecast: pace 100 Wh each half hour (11/4 .. 11/10); the rest of half hour 24 (15 of 30
    # minutes) 50, half hours 25-47 23 * 100 = 2300, 11/12 .. 11/30 19 days * 4800 = 91,200:
    # 50,450 + 50 + 2,300 + 91,200 = 144,000 Wh -> 144 kWh * 30 = 4320 yen
    assert tariff.estimate(t, 30, per, 50450) == (1500, 0, 144000, 4320)
    # without the meter's figure: the history alone, 50,400 -> 50 kWh
    assert tariff.estimate(t, 30, per, None)[0] == 1500
    # a day missing from the cache: 48 half hours missing, its Wh lacking from the history
    p2 = tmp("hist_e.bin")
    for d in range(1, 11):
        if d != 5:
            usage.store_day(p2, 2026, 11, d, _flat(100))
    per = usage.refresh(t, p2, 1, (2026, 11, 11, 12, 15), today)
    assert per.missing == 48 and per.hist == 45600 and per.pace_days == 6
    # no history at all: no pace, no forecast; the meter's Wh priced as they are
    per = usage.refresh(t, tmp("hist_f.bin"), 1, (2026, 11, 11, 12, 15))
    assert per.extra is None and per.missing == 10 * 48 + 24
    assert tariff.estimate(t, 30, per, 50450) == (1500, 0, None, None)


def _month_tariff():
    return tariff.load(
        tariff={
            "preset": "tepco_smartlife_s",
            "basic_per_10a": 311.75,
            "adjustments": {
                "fuel": {"2026-11": -1.23, "2026-12": -2.00},
                "levy": {"2026-05": 3.98},
                "fuel_by": "use",
            },
        }
    )


def test_month_across_the_reading_day_and_month_end():
    """A simulated period: history fetched day by day, priced across 12/1 and the reading day 12/21."""
    p = tmp("hist_g.bin")
    t = _month_tariff()
    prof = _profile()
    # the days before the period (for the pace) and the period 2026-11-21 .. 12-20 (reading day 21)
    n0 = billing.days_from_civil(2026, 11, 14)
    n_end = billing.days_from_civil(2026, 12, 20)
    half = None
    for n in range(n0, n_end + 1):
        y, m, d = billing.civil_from_days(n)
        if (m, d) == (11, 30):
            # 11/30 12:00, half hour 24 just begun; history of today up to 11:30
            today = (2026, 11, 30, prof[:24] + [None] * 24)
            half = usage.refresh(t, p, 21, (2026, 11, 30, 12, 0), today)
        usage.store_day(p, y, m, d, prof)
    # --- mid-period, 11/30 12:00 ---
    # 11/21 .. 11/29 (9 days): night 27,000 Wh, day 34,200; today 00:00-12:00: slots 0-1 day 200,
    # 2-11 night 3,000, 12-23 day 1,200 -> November night 30,000, day 35,600; December nothing
    assert half.wh == [30000, 35600, 0, 0]
    # 30 kWh * 27.86 = 835.80; 35.6 -> 36 kWh * 35.76 = 1287.36; energy 2123.16
    # fuel (November, month of use) -1.23 * 66 = -81.18; basic 935.25
    # 935.25 + 2123.16 - 81.18 = 2977.23 -> 2977; levy 3.98 * 66 = 262.68 -> 262; total 3239
    yen, flags, fwh, fyen = tariff.estimate(t, 30, half, 65600)
    assert (yen, flags) == (3239, 0)
    # forecast with the same profile every day: the whole period's usage (below)
    # 11/30 rest: half hour 24 (100) + 25-47 (2,300) = 2,400 day; 12/1 .. 12/20: 20 days
    assert half.extra == [0, 2400, 60000, 76000]
    assert fwh == 204000 and fyen == 7974
    # --- the last half hour of the period, 12/20 23:45 ---
    end = usage.refresh(t, p, 21, (2026, 12, 20, 23, 45), (2026, 12, 20, prof))
    # November (11/21 .. 11/30, 10 days): night 30,000, day 38,000; December (20 days): 60,000, 76,000
    assert end.wh == [30000, 38000, 60000, 76000]
    assert end.missing == 0
    # night 90,000 Wh = 90 kWh * 27.86 = 2507.40; day 114,000 = 114 kWh * 35.76 = 4076.64 -> 6584.04
    # fuel by month of use: November 68 kWh * -1.23 = -83.64; December 136 * -2.00 = -272.00
    # 935.25 + 6584.04 - 83.64 - 272.00 = 7163.65 -> 7163; levy 3.98 * 204 = 811.92 -> 811; 7974
    assert tariff.estimate(t, 30, end, 204000)[:2] == (7974, 0)
    # the forecast at the very end: what is left of 23:30-24:00 (15 of 30 minutes of 100 Wh = 50)
    assert end.extra == [0, 0, 0, 50]
    # --- the reading day 12/21 00:45: a new period, its bill month 2027-01 ---
    new = usage.refresh(t, p, 21, (2026, 12, 21, 0, 45), (2026, 12, 21, [DAY, None] + [None] * 46))
    assert (new.sy, new.sm, new.sd, new.ny, new.nm, new.nd) == (2026, 12, 21, 2027, 1, 21)
    assert new.wh == [0, 100, 0, 0] and new.missing == 0
    # 0.1 kWh -> 0 kWh: the basic charge alone, 935.25 -> 935
    assert tariff.estimate(t, 30, new, 100)[:2] == (935, 0)
    # the same 12/20 figures priced straight from the days (price(), no cache)
    days = [(2026, 11, 21 + i, prof) for i in range(10)] + [(2026, 12, 1 + i, prof) for i in range(20)]
    yen, flags, wh = usage.price(t, 30, 21, days, (2026, 12, 20, 23, 45))
    assert (yen, flags, wh) == (7974, 0, [30000, 38000, 60000, 76000])


def test_live_half_hour_goes_to_its_band():
    p = tmp("hist_h.bin")
    t = _month_tariff()
    prof = _profile()
    for d in range(1, 20):
        usage.store_day(p, 2026, 12, d, prof)
    # 12/20 03:10, half hour 6 (night) in progress; today's history up to 03:00
    today = (2026, 12, 20, prof[:6] + [None] * 42)
    per = usage.refresh(t, p, 21, (2026, 12, 20, 3, 10), today)
    assert per.live == 2  # December (second month), night band
    # the meter is 500 Wh ahead of the history: they go to December's night
    base = tariff.estimate(t, 30, per, per.hist)[0]
    more = tariff.estimate(t, 30, per, per.hist + 500)[0]
    wh = list(per.wh)
    wh[2] += 500
    assert more == t.bill(30, 2026, 11, wh)[0] and more != base
