"""Common-subset tests of billing and tariff: pytest on CPython, tools/mptest.py on MicroPython.

(The Ambient tests are in test_ambient_*.py.)
"""

import sys

import billing
import testkit
from billing import tariff

JST = 32400


# ---- billing


def test_billing_edge_dates():
    cases = [
        # reading day, date, period start, period end, days since start
        (31, (2025, 2, 27), (2025, 1, 31), (2025, 2, 27), 27),
        (31, (2025, 2, 28), (2025, 2, 28), (2025, 3, 30), 0),
        (31, (2025, 3, 30), (2025, 2, 28), (2025, 3, 30), 30),
        (31, (2025, 3, 31), (2025, 3, 31), (2025, 4, 29), 0),
        (29, (2024, 2, 29), (2024, 2, 29), (2024, 3, 28), 0),
        (29, (2024, 2, 28), (2024, 1, 29), (2024, 2, 28), 30),
        (29, (2025, 2, 28), (2025, 2, 28), (2025, 3, 28), 0),
        (30, (2000, 3, 1), (2000, 2, 29), (2000, 3, 29), 1),
        (30, (2100, 3, 1), (2100, 2, 28), (2100, 3, 29), 1),
        (22, (2025, 1, 5), (2024, 12, 22), (2025, 1, 21), 14),
        (22, (2024, 12, 21), (2024, 11, 22), (2024, 12, 21), 29),
        (1, (2025, 1, 1), (2025, 1, 1), (2025, 1, 31), 0),
        (1, (2024, 12, 31), (2024, 12, 1), (2024, 12, 31), 30),
    ]
    for rd, date, start, end, since in cases:
        assert billing.billing_period_start(rd, *date) == start, (rd, date)
        assert billing.billing_period_end(rd, *date) == end, (rd, date)
        assert billing.days_since_period_start(rd, *date) == since, (rd, date)


def _is_start(rd, y, m, d):
    return d == min(rd, billing.days_in_month(y, m))


def test_billing_invariants_2024_2025():
    # Every day of a leap and a common year x every reading day: the start is a
    # reading day, no reading day lies between it and the date, the end is the day
    # before the next reading day.
    first = billing.days_from_civil(2024, 1, 1)
    last = billing.days_from_civil(2025, 12, 31)
    for n in range(first, last + 1):
        y, m, d = billing.civil_from_days(n)
        for rd in range(1, 32):
            s = billing.days_from_civil(*billing.billing_period_start(rd, y, m, d))
            e = billing.days_from_civil(*billing.billing_period_end(rd, y, m, d))
            assert s <= n <= e
            assert billing.days_since_period_start(rd, y, m, d) == n - s
            assert _is_start(rd, *billing.civil_from_days(s))
            assert _is_start(rd, *billing.civil_from_days(e + 1))
            for k in range(s + 1, e + 1):
                assert not _is_start(rd, *billing.civil_from_days(k))
            assert 28 <= e - s + 1 <= 31


def test_billing_leap_years():
    assert billing.is_leap(2000) and billing.is_leap(2024)
    assert not billing.is_leap(2100) and not billing.is_leap(2025)
    assert billing.days_in_month(2024, 2) == 29 and billing.days_in_month(2100, 2) == 28
    assert billing.days_in_month(2000, 2) == 29 and billing.days_in_month(2025, 12) == 31


def test_local_date():
    assert billing.local_date(0, 0) == (1970, 1, 1, 0, 0, 0)
    assert billing.local_date(1709218799, JST) == (2024, 2, 29, 23, 59, 59)
    assert billing.local_date(1709218800, JST) == (2024, 3, 1, 0, 0, 0)
    assert billing.local_date(4102412400, JST) == (2100, 1, 1, 0, 0, 0)
    assert billing.local_date(4107542399, 0) == (2100, 2, 28, 23, 59, 59)
    assert billing.local_date(4107542400, 0) == (2100, 3, 1, 0, 0, 0)
    assert billing.local_date(2147483648, JST) == (2038, 1, 19, 12, 14, 8)
    assert billing.local_date(951825600, JST) == (2000, 2, 29, 21, 0, 0)
    assert billing.days_from_civil(2100, 12, 31) == 47846
    assert billing.civil_from_days(47846) == (2100, 12, 31)


# ---- tariff


def test_tariff_presets_hand_computed():
    bills = [
        # tepco_b 30 A: 935.25 + 29.80 to 120 kWh, 36.40 to 300, 40.49 above
        ("tepco_b", 30, [0, 100, 140, 200, 350, 500], [935, 3915, 5239, 7423, 13087, 19161]),
        # tokyo_gas_1 40 A: 1247 + 34.18 to 140 kWh, 34.39 to 350, 36.92 above
        ("tokyo_gas_1", 40, [0, 100, 140, 200, 350, 500], [1247, 4665, 6032, 8095, 13254, 18792]),
        # tokyo_gas_1s 30 A: 935.22 + 29.70 to 120 kWh, 35.69 to 300, 39.50 above
        ("tokyo_gas_1s", 30, [0, 100, 140, 200, 350, 500], [935, 3905, 5213, 7354, 12898, 18823]),
        # tokyo_gas_2 6 kVA: 311.75 x 6 + 34.42 to 360 kWh, 36.59 above
        ("tokyo_gas_2", 60, [0, 100, 140, 200, 350, 500], [1870, 5312, 6689, 8754, 13917, 19384]),
    ]
    for name, amps, kwhs, yens in bills:
        t = tariff.load(name)
        for i in range(len(kwhs)):
            kwh, yen = kwhs[i], yens[i]
            assert t.charge(amps, kwh) == yen, (name, kwh, t.charge(amps, kwh))
    # third tier: 1247 + 140*34.18 + 210*34.39 + 50*36.92 = 15100.10 (not the old 14745)
    assert tariff.load("tokyo_gas_1").charge(40, 400) == 15100


def test_tariff_declarative_and_errors():
    spec = {
        "basic": {"30": 935.25},
        "tiers": [[120, 29.80], [300, 36.40], [None, 40.49]],
        "adjustment_per_kwh": -1.5,
    }
    assert tariff.load(tariff=spec).charge(30, 200) == 7123  # 7423.25 - 300
    assert tariff.load(tariff={"tiers": [[None, 0.29]]}).charge(30, 100) == 29  # exact, not 28
    bad = [
        ({"tiers": [[120, 1], [300, 2]]}, "tariff.tiers[1]"),
        ({"tiers": [[None, 1]], "tier": 1}, "'tier'"),
        ({"basic": {"30": "x"}, "tiers": [[None, 1]]}, "tariff.basic['30']"),
        ({"tiers": [[None, 1]], "adjustment_per_kwh": True}, "adjustment_per_kwh"),
    ]
    for spec, words in bad:
        try:
            tariff.load(tariff=spec)
        except tariff.TariffError as e:
            assert words in str(e), str(e)
            assert isinstance(e, ValueError)
        else:
            raise AssertionError("accepted %r" % spec)
    try:
        tariff.load("tepco_b").charge(55, 10)
    except tariff.TariffError as e:
        assert "10, 15, 20, 30, 40, 50, 60" in str(e)
    else:
        raise AssertionError("55 A accepted")
    try:
        tariff.load("no_such_tariff_plan")
    except tariff.TariffError as e:
        assert "tepco_b, tepco_smartlife_s, tokyo_gas_1, tokyo_gas_1s, tokyo_gas_2" in str(e)
    else:
        raise AssertionError("unknown name accepted")


def test_tariff_plugin_from_path():
    d = testkit.tmpdir()
    with open(d + "/bta_plugin.py", "w") as f:
        f.write("def charge(contract_amperage, kwh):\n    return contract_amperage * 10 + kwh * 20.7\n")
        f.write("def flat(contract_amperage, kwh):\n    return 1234.9\n")
    sys.path.insert(0, d)
    try:
        assert tariff.load("bta_plugin").charge(30, 10) == 507  # 300 + 207.0
        assert tariff.load(charge_func="bta_plugin.flat").charge(30, 10) == 1234
        try:
            tariff.load("bta_plugin.nothing")
        except tariff.TariffError as e:
            assert "nothing" in str(e)
        else:
            raise AssertionError("missing function accepted")
    finally:
        sys.path.remove(d)
        sys.modules.pop("bta_plugin", None)
        testkit.rmtree(d)
