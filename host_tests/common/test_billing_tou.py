"""Time-of-use tariffs: bands, days off, holidays, a cited preset (runs on MicroPython too).

Expected yen are worked out by hand in the comments.
"""

from billing import tariff, usage
from testkit import raises

# night every day 22:00-08:00; weekends and holidays cheaper in the day; work days dearest
SPEC = {
    "name": "three bands",
    "bands": [
        {"name": "night", "time": "22:00-08:00", "yen": 20.00},
        {"name": "off", "days": "off", "yen": 25.00},
        {"name": "day", "yen": 30.00},
    ],
}


def _day(wh):
    return [wh] * 48


def test_bands_map_half_hours():
    t = tariff.load(tariff=SPEC)
    assert t.nbands == 3 and t.band_names == ("night", "off", "day")
    # slot 15 = 07:30-08:00 is night, 16 = 08:00 is day; 43 = 21:30 day, 44 = 22:00 night
    for off in (False, True):
        assert usage.band(t, off, 1, 0) == 0
        assert usage.band(t, off, 1, 15) == 0
        assert usage.band(t, off, 1, 44) == 0
        assert usage.band(t, off, 1, 47) == 0
    assert usage.band(t, False, 1, 16) == 2 and usage.band(t, False, 1, 43) == 2
    assert usage.band(t, True, 1, 16) == 1 and usage.band(t, True, 1, 43) == 1


def test_days_off():
    t = tariff.load(tariff=SPEC)
    assert usage.day_off(t, 2026, 9, 19)  # Saturday
    assert usage.day_off(t, 2026, 9, 20)  # Sunday
    assert usage.day_off(t, 2026, 9, 21)  # Monday, 敬老の日
    assert usage.day_off(t, 2026, 9, 22)  # Tuesday, citizens' holiday
    assert usage.day_off(t, 2026, 9, 23)  # Wednesday, 秋分の日
    assert not usage.day_off(t, 2026, 9, 24)  # Thursday
    # a plan whose days off are Sundays and the year-end only (no public holidays)
    t = tariff.load(tariff=dict(SPEC, days_off=["sun", "12-30", "12-31"]))
    assert not usage.day_off(t, 2026, 9, 19)  # Saturday: a work day for this plan
    assert usage.day_off(t, 2026, 9, 20)
    assert not usage.day_off(t, 2026, 9, 21)  # a public holiday, not listed
    assert usage.day_off(t, 2026, 12, 30) and usage.day_off(t, 2026, 12, 31)


def test_holiday_week_priced_by_hand():
    t = tariff.load(tariff=SPEC)
    # reading day 21: the period 2026-09-21 .. 2026-10-20. 100 Wh every half hour on
    # 9/21 (holiday), 9/22 (citizens' holiday), 9/23 (秋分の日), 9/24 (Thursday).
    # A day: night 20 half hours (22:00-08:00) = 2000 Wh; the other 28 = 2800 Wh.
    # night 4 * 2000 = 8000 Wh -> 8 kWh; off 3 * 2800 = 8400 Wh -> 8 kWh; day 2800 Wh -> 3 kWh
    # 8 * 20 + 8 * 25 + 3 * 30 = 160 + 200 + 90 = 450 yen
    days = [(2026, 9, d, _day(100)) for d in (21, 22, 23, 24)]
    yen, flags, wh = usage.price(t, 30, 21, days, (2026, 9, 24, 23, 45))
    assert wh == [8000, 8400, 2800, 0, 0, 0]
    assert (yen, flags) == (450, 0)
    # the same at 10:15 on 9/24 (half hour 20 in progress), history up to 10:00, 50 Wh live:
    # 9/24 counts 00:00-08:00 night 16 * 100 = 1600, 08:00-10:00 day 4 * 100 = 400, live 50 day
    # night 6000 + 1600 = 7600 -> 8 kWh; off 8400 -> 8 kWh; day 450 -> 0 kWh: 160 + 200 = 360
    today = [100] * 20 + [None] * 28
    days = days[:3] + [(2026, 9, 24, today)]
    yen, flags, wh = usage.price(t, 30, 21, days, (2026, 9, 24, 10, 15), live_wh=50)
    assert wh == [7600, 8400, 450, 0, 0, 0]
    assert yen == 360
    # a day before the period (9/20) is left out
    yen2 = usage.price(t, 30, 21, [(2026, 9, 20, _day(1000))] + days, (2026, 9, 24, 10, 15), 50)[0]
    assert yen2 == 360


def test_tepco_smartlife_s_preset():
    # bands of the preset: night 01:00-06:00 27.86, day 35.76 (docs/tariffs.md cites them);
    # the basic charge is the user's (the preset has none we could cite): here 311.75 per 10 A
    t = tariff.load(tariff={"preset": "tepco_smartlife_s", "basic_per_10a": 311.75})
    assert usage.band(t, False, 1, 1) == 1 and usage.band(t, False, 1, 2) == 0  # 00:30 day, 01:00 night
    assert usage.band(t, True, 1, 11) == 0 and usage.band(t, True, 1, 12) == 1  # 05:30 night, 06:00 day
    # 30 days of 200 Wh every half hour: night 10 half hours * 200 * 30 = 60,000 Wh = 60 kWh,
    # day 38 * 200 * 30 = 228,000 Wh = 228 kWh
    # 60 * 27.86 = 1671.60 + 228 * 35.76 = 8153.28 -> 9824.88; basic 311.75 * 3 = 935.25
    # 935.25 + 9824.88 = 10760.13 -> 10760
    assert t.bill(30, 2026, 11, [60000, 228000, 0, 0]) == (10760, 0)
    e = raises(tariff.TariffError, tariff.load, "tepco_smartlife_s")
    assert "no basic charge we can cite" in str(e)
    e = raises(tariff.TariffError, tariff.load, None, {"preset": "tepco_smartlife_s"})
    assert "basic_per_10a" in str(e)


def test_seasonal_bands():
    t = tariff.load(
        tariff={
            "bands": [
                {"name": "summer day", "months": [7, 8, 9], "time": "10:00-17:00", "days": "work", "yen": 40},
                {"name": "other", "yen": 30},
            ]
        }
    )
    assert usage.band(t, False, 8, 20) == 0  # August 10:00 on a work day
    assert usage.band(t, True, 8, 20) == 1  # a day off
    assert usage.band(t, False, 10, 20) == 1  # October
    assert usage.band(t, False, 8, 34) == 1  # 17:00


def test_band_validation():
    bad = [
        ({"bands": []}, "tariff.bands"),
        ({"bands": [{"time": "01:00-06:00", "yen": 1}]}, "no band for 00:00 on work days in month 1"),
        ({"bands": [{"days": "work", "yen": 1}]}, "no band for 00:00 on days off"),
        ({"bands": [{"months": [1], "yen": 1}]}, "in month 2"),
        ({"bands": [{"time": "01:15-06:00", "yen": 1}, {"yen": 2}]}, "on the half hour"),
        ({"bands": [{"time": "1:00-6:00", "yen": 1}, {"yen": 2}]}, "HH:MM-HH:MM"),
        ({"bands": [{"time": "06:00-06:00", "yen": 1}, {"yen": 2}]}, "not empty"),
        ({"bands": [{"yen": "2"}]}, "tariff.bands[0].yen"),
        ({"bands": [{"days": "weekend", "yen": 2}]}, "tariff.bands[0].days"),
        ({"bands": [{"months": [13], "yen": 2}]}, "tariff.bands[0].months"),
        ({"bands": [{"rate": 2}]}, "unknown key 'rate'"),
        ({"bands": [{"yen": 2}], "tiers": [[None, 1]]}, "tiers or bands"),
        ({"bands": [{"yen": 2}], "days_off": ["mon"]}, "tariff.days_off"),
        ({"bands": [{"yen": 2}], "days_off": ["13-01"]}, "MM-DD"),
    ]
    for spec, words in bad:
        e = raises(tariff.TariffError, tariff.load, None, spec)
        assert words in str(e), (spec, str(e))
    # a range past midnight and one to 24:00
    t = tariff.load(tariff={"bands": [{"time": ["23:00-24:00", "00:00-01:00"], "yen": 1}, {"yen": 2}]})
    assert [usage.band(t, False, 1, s) for s in (0, 1, 2, 45, 46, 47)] == [0, 0, 1, 1, 0, 0]
