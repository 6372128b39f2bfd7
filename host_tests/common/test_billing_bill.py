"""Tariff.bill(): dated adjustments, rounding as the bill does it, integers only (runs on MicroPython too).

Every expected yen is worked out by hand in the comments (never by the code under test).
Rules (docs/tariffs.md): kWh per band rounded half up to whole kWh; basic + energy + fuel-cost
adjustment floored to yen; the renewable levy floored to yen on its own and added.
"""

import struct

from billing import tariff
from testkit import raises

# the period from 2026-11-21 to 2026-12-20 (reading day 21): it starts in 2026-11, its bill month
# (the month of the reading that closes it) is 2026-12.
SY, SM = 2026, 11


def _tepco(adjustments=None):
    spec = {"preset": "tepco_b"}
    if adjustments is not None:
        spec["adjustments"] = adjustments
    return tariff.load(tariff=spec)


def test_fuel_and_levy_by_bill_month():
    t = _tepco({"fuel": {"2026-11": -1.23, "2026-12": -2.00}, "levy": {"2026-05": 3.98}})
    # 100,300 Wh in November + 150,199 Wh in December = 250,499 Wh -> 250 kWh (250.499 rounds down)
    # energy 120 * 29.80 = 3576.00 + 130 * 36.40 = 4732.00 -> 8308.00
    # fuel: the bill month's figure (2026-12): -2.00 * 250 = -500.00
    # 935.25 + 8308.00 - 500.00 = 8743.25 -> 8743; levy 3.98 * 250 = 995.00 -> 995; 8743 + 995 = 9738
    assert t.bill(30, SY, SM, [100300, 150199]) == (9738, 0)


def test_whole_kwh_half_up_and_levy_floored_on_its_own():
    t = _tepco({"fuel": {"2026-12": -2.00}, "levy": {"2026-05": 3.98}})
    # 250,500 Wh -> 251 kWh (half up)
    # energy 3576.00 + 131 * 36.40 = 4768.40 -> 8344.40; fuel -2.00 * 251 = -502.00
    # 935.25 + 8344.40 - 502.00 = 8777.65 -> 8777; levy 3.98 * 251 = 998.98 -> 998; total 9775
    # (flooring once at the end would give 8777.65 + 998.98 = 9776.63 -> 9776)
    assert t.bill(30, SY, SM, [250500, 0]) == (9775, 0)
    assert t.bill(30, SY, SM, [250499, 0])[0] == 9738 + 0  # 250 kWh, as in the test above
    assert t.bill(30, SY, SM, [0, 250499]) == t.bill(30, SY, SM, [250499, 0])  # bill month: no split


def test_fuel_by_month_of_use_splits_the_period():
    t = _tepco({"fuel": {"2026-11": -1.23, "2026-12": -2.00}, "levy": {"2026-05": 3.98}, "fuel_by": "use"})
    # 250 kWh in all (as above); November 100,300 Wh -> 100 kWh, December the other 150 kWh
    # fuel -1.23 * 100 = -123.00 and -2.00 * 150 = -300.00 -> -423.00
    # 935.25 + 8308.00 - 423.00 = 8820.25 -> 8820; levy 995; total 9815
    assert t.bill(30, SY, SM, [100300, 150199]) == (9815, 0)
    # all of it in November: -1.23 * 250 = -307.50; 935.25 + 8308 - 307.50 = 8935.75 -> 8935; + 995 = 9930
    assert t.bill(30, SY, SM, [250499, 0]) == (9930, 0)


def test_missing_month_uses_the_latest_figure_and_says_so():
    t = _tepco({"fuel": {"2026-10": -1.50}, "levy": {"2026-05": 3.98}})
    # bill month 2026-12 has no figure: 2026-10's (-1.50) applies, flagged
    # 935.25 + 8308.00 - 1.50 * 250 (375.00) = 8868.25 -> 8868; + 995 = 9863
    assert t.bill(30, SY, SM, [250499, 0]) == (9863, tariff.FUEL_OLD)
    t = _tepco({"fuel": {"2027-01": -1.00}, "levy": {"2025-05": 3.49}})
    # no fuel figure yet for 2026-12 (only 2027-01): none applied, flagged;
    # the levy figure of 2025-05 is 19 months old: applied, flagged
    # 935.25 + 8308.00 = 9243.25 -> 9243; levy 3.49 * 250 = 872.50 -> 872; total 10115
    assert t.bill(30, SY, SM, [250499, 0]) == (10115, tariff.FUEL_NONE | tariff.LEVY_OLD)
    t = _tepco({"levy": {"2027-05": 3.00}})
    # a levy that starts after the bill month: none applied
    assert t.bill(30, SY, SM, [250499, 0]) == (9243, tariff.LEVY_NONE)
    # no adjustments configured: nothing applied, nothing flagged
    assert _tepco().bill(30, SY, SM, [250499, 0]) == (9243, 0)


def test_levy_changes_with_the_may_bill():
    t = _tepco({"levy": {"2025-05": 3.98, "2026-05": 4.00}})
    # the period 2026-04-21 .. 2026-05-20 is the 2026-05 bill: 4.00 * 100 = 400
    # 100 kWh: 935.25 + 100 * 29.80 (2980.00) = 3915.25 -> 3915
    assert t.bill(30, 2026, 4, [100000, 0]) == (3915 + 400, 0)
    # the period 2026-03-21 .. 2026-04-20 is the 2026-04 bill: 3.98 * 100 = 398
    assert t.bill(30, 2026, 3, [100000, 0]) == (3915 + 398, 0)
    # no figure for the new levy year: the 2026-05 bill uses 2025-05's, 12 months old, flagged
    t = _tepco({"levy": {"2025-05": 3.98}})
    assert t.bill(30, 2026, 4, [100000, 0]) == (3915 + 398, tariff.LEVY_OLD)
    assert t.bill(30, 2026, 3, [100000, 0]) == (3915 + 398, 0)  # 2026-04 bill: 11 months, still valid


def test_never_negative_and_plugin_gets_kwh():
    t = tariff.load(tariff={"tiers": [[None, 1]], "adjustments": {"fuel": {"2026-12": -5}}})
    # 100 kWh * 1 - 5 * 100 = -400 -> 0
    assert t.bill(30, SY, SM, [100000, 0]) == (0, 0)


def _f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def test_float32_would_lose_a_yen():
    # 35.76 yen * 25 kWh = 894 yen exactly. In float64 35.76 * 25 == 894.0; in float32 35.76 is
    # 35.7599983..., times 25 is 893.99994 and the floor is 893 (the ESP32's floats).
    naive32 = _f32(_f32(35.76) * 25)
    assert naive32 < 894 and int(naive32 // 1) == 893
    t = tariff.load(tariff={"tiers": [[None, 35.76]]})
    assert t.bill(30, SY, SM, [25000, 0]) == (894, 0)
    assert t.charge(30, 25) == 894
    # tepco_b 853 kWh with a fuel-cost adjustment of -3.74:
    # 935.25 + 3576.00 + 180 * 36.40 (6552.00) + 553 * 40.49 (22390.97) = 33454.22
    # - 3.74 * 853 (3190.22) = 30264.00 -> 30264; summed in float32 it is 30263.99... -> 30263
    t = _tepco({"fuel": {"2026-12": -3.74}})
    assert t.bill(30, SY, SM, [853000, 0]) == (30264, 0)
    e = _f32(935.25)
    for rate, kwh in ((29.80, 120), (36.40, 180), (40.49, 553), (-3.74, 853)):
        e = _f32(e + _f32(_f32(rate) * kwh))
    assert int(e // 1) == 30263  # what float32 arithmetic would show


def test_validation_of_adjustments():
    bad = [
        ({"fuel": {"2026-13": 1}}, "tariff.adjustments.fuel"),
        ({"fuel": {"26-11": 1}}, "YYYY-MM"),
        ({"fuel": {"2026-11": "1.2"}}, "tariff.adjustments.fuel['2026-11']"),
        ({"levy": {"2026-05": -1}}, ">= 0"),
        ({"fuel_by": "day"}, "tariff.adjustments.fuel_by"),
        ({"fuel": [1]}, "tariff.adjustments.fuel"),
        ({"extra": 1}, "unknown key 'extra'"),
        ([1], "tariff.adjustments"),
    ]
    for adj, words in bad:
        e = raises(tariff.TariffError, tariff.load, None, {"preset": "tepco_b", "adjustments": adj})
        assert words in str(e), (adj, str(e))
