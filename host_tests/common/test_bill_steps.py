"""The App's yen between two half-hourly bill updates: lib/app/bill.py steps() and loop.yen_at()
(runs on MicroPython too).

Tariff.bill() rounds each band's kWh half up (and, with fuel-cost figures per month of use, the
first month's kWh), so the yen is constant between those rounding edges: the half-hourly update
prices the period once per edge and the App looks the yen up on every reading. Every expected
yen is worked out by hand in the comments.
"""

from app import bill, loop
from billing import tariff

SY, SM = 2026, 11  # the period 2026-11-21 .. 2026-12-20: bill month 2026-12


def _period(wh, live):
    p = tariff.Period()
    p.sy, p.sm = SY, SM
    p.wh = wh
    p.hist = sum(wh)
    p.live = live
    return p


def test_tiered_steps_at_each_half_kwh():
    t = tariff.load("tepco_b")  # 40 A: 1,247.00 yen; 29.80 yen/kWh up to 120 kWh
    p = _period([60200, 40100], 1)  # 100,300 Wh so far; the half hour in progress is in December
    steps, flags = bill.steps(t, 40, p, 0, 2000)
    # below 100,500 Wh: 100 kWh -> 1,247.00 + 2,980.00 = 4,227
    # 100,500 to 101,499: 101 kWh -> 1,247.00 + 3,009.80 = 4,256.80 -> 4,256
    # 101,500 up to the span's end (100,300 + 2,000): 102 kWh -> 1,247.00 + 3,039.60 = 4,286.60 -> 4,286
    assert steps == [100500, 4227, 101500, 4256, 102301, 4286] and flags == 0
    assert loop.yen_at(steps, 100300) == 4227
    assert loop.yen_at(steps, 100499) == 4227
    assert loop.yen_at(steps, 100500) == 4256
    assert loop.yen_at(steps, 102300) == 4286
    assert loop.yen_at(steps, 102301) is None  # beyond the table: the App asks for new prices


def test_fuel_by_month_of_use_adds_the_first_months_edges():
    spec = {"preset": "tepco_b", "adjustments": {"fuel": {"2026-11": -1.23, "2026-12": -2.00}}}
    spec["adjustments"]["levy"] = {"2026-05": 3.98}
    spec["adjustments"]["fuel_by"] = "use"
    t = tariff.load(tariff=spec)  # 30 A: 935.25 yen
    p = _period([100300, 150199], 0)  # the half hour in progress is in November, the first month
    steps, flags = bill.steps(t, 30, p, 0, 1000)
    # x = 0: 250,499 Wh -> 250 kWh, November 100 kWh: 9,815 (test_billing_bill.py works it out)
    # x = 1: 250,500 Wh -> 251 kWh, November 100,301 Wh -> 100 kWh, December 151 kWh:
    #   energy 3,576.00 + 131 x 36.40 (4,768.40) = 8,344.40; fuel -1.23 x 100 - 2.00 x 151 = -425.00
    #   935.25 + 8,344.40 - 425.00 = 8,854.65 -> 8,854; levy 3.98 x 251 = 998.98 -> 998; 9,852
    # x = 200: November 100,500 Wh -> 101 kWh, December 150 kWh: fuel -124.23 - 300.00 = -424.23
    #   935.25 + 8,344.40 - 424.23 = 8,855.42 -> 8,855; + 998 = 9,853, up to the span's end
    assert steps == [250500, 9815, 250699, 9852, 251500, 9853] and flags == 0


def test_saved_tariff_prices_like_the_original():
    spec = {"preset": "tepco_b", "adjustments": {"fuel": {"2026-12": -2.00}, "levy": {"2026-05": 3.98}}}
    t = tariff.load(tariff=spec)
    r = tariff.restore(t.save())
    assert r is not t and r.save() == t.save()
    # 250,500 Wh -> 251 kWh at 30 A: 9,775 (test_billing_bill.py works it out)
    assert r.bill(30, SY, SM, [250500, 0]) == t.bill(30, SY, SM, [250500, 0]) == (9775, 0)
