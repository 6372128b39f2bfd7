"""tariff.py: hand-computed bills, validation errors, plug-ins."""

import os
import sys
import uuid

import pytest
from billing import tariff
from billing.tariff import TariffError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Hand-computed bills (yen, floored). Arithmetic in the comments.
BILLS = [
    # tepco_b 30 A: basic 935.25; 29.80 to 120 kWh, 36.40 to 300, 40.49 above
    ("tepco_b", 30, 0, 935),  # 935.25
    ("tepco_b", 30, 100, 3915),  # 935.25 + 100*29.80=2980 -> 3915.25
    ("tepco_b", 30, 140, 5239),  # 935.25 + 120*29.80=3576 + 20*36.40=728 -> 5239.25
    ("tepco_b", 30, 200, 7423),  # 935.25 + 3576 + 80*36.40=2912 -> 7423.25
    ("tepco_b", 30, 350, 13087),  # 935.25 + 3576 + 180*36.40=6552 + 50*40.49=2024.50 -> 13087.75
    ("tepco_b", 30, 500, 19161),  # 935.25 + 3576 + 6552 + 200*40.49=8098 -> 19161.25
    ("tepco_b", 10, 100, 3291),  # 311.75 + 2980 -> 3291.75
    ("tepco_b", 60, 0, 1870),  # 1870.50
    # tokyo_gas_1 40 A: basic 1247.00; 34.18 to 140 kWh, 34.39 to 350, 36.92 above
    ("tokyo_gas_1", 40, 0, 1247),  # 1247.00
    ("tokyo_gas_1", 40, 100, 4665),  # 1247 + 100*34.18=3418 -> 4665.00
    ("tokyo_gas_1", 40, 140, 6032),  # 1247 + 140*34.18=4785.20 -> 6032.20
    ("tokyo_gas_1", 40, 200, 8095),  # 1247 + 4785.20 + 60*34.39=2063.40 -> 8095.60
    ("tokyo_gas_1", 40, 350, 13254),  # 1247 + 4785.20 + 210*34.39=7221.90 -> 13254.10
    ("tokyo_gas_1", 40, 500, 18792),  # 1247 + 4785.20 + 7221.90 + 150*36.92=5538 -> 18792.10
    # tokyo_gas_1s 30 A: basic 935.22; 29.70 to 120 kWh, 35.69 to 300, 39.50 above
    ("tokyo_gas_1s", 30, 0, 935),  # 935.22
    ("tokyo_gas_1s", 30, 100, 3905),  # 935.22 + 100*29.70=2970 -> 3905.22
    ("tokyo_gas_1s", 30, 140, 5213),  # 935.22 + 120*29.70=3564 + 20*35.69=713.80 -> 5213.02
    ("tokyo_gas_1s", 30, 200, 7354),  # 935.22 + 3564 + 80*35.69=2855.20 -> 7354.42
    ("tokyo_gas_1s", 30, 350, 12898),  # 935.22 + 3564 + 180*35.69=6424.20 + 50*39.50=1975 -> 12898.42
    ("tokyo_gas_1s", 30, 500, 18823),  # 935.22 + 3564 + 6424.20 + 200*39.50=7900 -> 18823.42
    # tokyo_gas_2 6 kVA (given as 60 A): basic 311.75*6=1870.50; 34.42 to 360 kWh, 36.59 above
    ("tokyo_gas_2", 60, 0, 1870),  # 1870.50
    ("tokyo_gas_2", 60, 100, 5312),  # 1870.50 + 100*34.42=3442 -> 5312.50
    ("tokyo_gas_2", 60, 140, 6689),  # 1870.50 + 140*34.42=4818.80 -> 6689.30
    ("tokyo_gas_2", 60, 200, 8754),  # 1870.50 + 200*34.42=6884 -> 8754.50
    ("tokyo_gas_2", 60, 350, 13917),  # 1870.50 + 350*34.42=12047 -> 13917.50
    ("tokyo_gas_2", 60, 500, 19384),  # 1870.50 + 360*34.42=12391.20 + 140*36.59=5122.60 -> 19384.30
    ("tokyo_gas_2", 80, 0, 2494),  # 8 kVA: 311.75*8 = 2494.00
]


@pytest.mark.parametrize("name, amps, kwh, yen", BILLS)
def test_preset_bills(name, amps, kwh, yen):
    t = tariff.load(charge_func=name)
    assert t.name == name
    assert t.charge(amps, kwh) == yen
    assert t.charge(amps, float(kwh)) == yen
    assert tariff.load(tariff=name).charge(amps, kwh) == yen


def test_third_tier_regression_tokyo_gas_1():
    t = tariff.load("tokyo_gas_1")
    # Correct: 1247 + 140*34.18 + 210*34.39 + 50*36.92=1846 -> 15100.10
    assert t.charge(40, 400) == 15100
    # The earlier monitor's bug (rate2 x 350 and rate3 x (kWh - 140 - 350)) gave a bill that drops past
    # 350 kWh (14745.90 at 400). The bill rises by the third rate there: 350 kWh = 1247 + 4785.20
    # + 210*34.39 (7221.90) = 13254.10 -> 13254; 351 kWh adds 36.92 -> 13291.02 -> 13291.
    assert t.charge(40, 350) == 13254 and t.charge(40, 351) == 13291
    assert t.charge(40, 350.1) >= t.charge(40, 350)


@pytest.mark.parametrize(
    "name, amps", [("tepco_b", 30), ("tokyo_gas_1", 30), ("tokyo_gas_1s", 10), ("tokyo_gas_2", 60)]
)
def test_presets_monotonic_and_continuous(name, amps):
    t = tariff.load(name)
    prev = t.charge(amps, 0)
    for tenth in range(1, 10001):  # 0.1 .. 1000 kWh
        yen = t.charge(amps, tenth / 10)
        assert prev <= yen <= prev + 5, (tenth / 10, prev, yen)  # 0.1 kWh costs < 5 yen
        prev = yen


def test_exact_floor_without_float_error():
    # 0.29 * 100 is 28.999999999999996 in floats; the bill is exactly 29 yen.
    t = tariff.load(tariff={"tiers": [[None, 0.29]]})
    assert t.charge(30, 100) == 29
    t = tariff.load(tariff={"tiers": [[None, 0.7]]})
    assert t.charge(30, 10) == 7  # 0.7 * 10 = 7.000000000000001 in floats


def test_declarative_example_with_adjustment():
    spec = {
        "name": "my plan",
        "basic": {"30": 935.25, "40": 1247.0},
        "tiers": [[120, 29.80], [300, 36.40], [None, 40.49]],
        "adjustment_per_kwh": -1.5,
    }
    t = tariff.load(tariff=spec)
    assert t.name == "my plan"
    assert t.amperages == (30, 40)
    # 935.25 + 3576 + 80*36.40=2912 - 200*1.5=300 -> 7123.25
    assert t.charge(30, 200) == 7123
    assert t.charge("40", 0) == 1247  # the earlier monitor's string amperage works too


def test_preset_override_adjustment():
    t = tariff.load(tariff={"preset": "tepco_b", "adjustment_per_kwh": -3.74})
    assert t.name == "tepco_b"
    # 13087.75 - 350*3.74=1309 -> 11778.75
    assert t.charge(30, 350) == 11778


def test_basic_per_10a_and_no_basic():
    t = tariff.load(tariff={"basic_per_10a": 300, "tiers": [[None, 30]]})
    assert t.amperages is None
    assert t.charge(45, 10) == 1350 + 300  # 300*4.5 + 10*30
    t = tariff.load(tariff={"tiers": [[None, 30]]})
    assert t.charge(30, 10) == 300
    assert t.name == "custom"


def test_never_negative():
    t = tariff.load(tariff={"tiers": [[None, 1]], "adjustment_per_kwh": -5})
    assert t.charge(30, 100) == 0
    assert t.charge(30, -5) == 0  # a negative reading counts as 0 kWh


@pytest.mark.parametrize(
    "spec, words",
    [
        ([1, 2], ["tariff:", "expected an object"]),
        ({"tiers": [[None, 1]], "tier": 1}, ["unknown key 'tier'", "adjustment_per_kwh"]),
        ({"basic": {"30": 1}}, ["tariff.tiers", "missing"]),
        ({"basic": [935], "tiers": [[None, 1]]}, ["tariff.basic", "contract A"]),
        ({"basic": {}, "tiers": [[None, 1]]}, ["tariff.basic"]),
        ({"basic": {"3O": 935}, "tiers": [[None, 1]]}, ["tariff.basic['3O']", "whole number"]),
        ({"basic": {"30": "935"}, "tiers": [[None, 1]]}, ["tariff.basic['30']", "number of yen"]),
        ({"basic": {"30": -1}, "tiers": [[None, 1]]}, ["tariff.basic['30']"]),
        ({"basic": {"30": True}, "tiers": [[None, 1]]}, ["tariff.basic['30']"]),
        ({"basic": {"30": 1}, "basic_per_10a": 1, "tiers": [[None, 1]]}, ["basic_per_10a", "not both"]),
        ({"basic_per_10a": "x", "tiers": [[None, 1]]}, ["tariff.basic_per_10a"]),
        ({"tiers": []}, ["tariff.tiers", "non-empty"]),
        ({"tiers": "flat"}, ["tariff.tiers"]),
        ({"tiers": [[120, 1], [300, 2]]}, ["tariff.tiers[1]", "last tier", "null"]),
        ({"tiers": [[None, 1], [300, 2]]}, ["tariff.tiers[0]", "only the last"]),
        ({"tiers": [[300, 1], [120, 2], [None, 3]]}, ["tariff.tiers[1]", "above 300"]),
        ({"tiers": [[0, 1], [None, 3]]}, ["tariff.tiers[0]", "above 0"]),
        ({"tiers": [[120, 1, 2], [None, 3]]}, ["tariff.tiers[0]", "[limit_kwh, yen_per_kwh]"]),
        ({"tiers": [[120, "29.8"], [None, 3]]}, ["tariff.tiers[0]", "rate"]),
        ({"tiers": [[None, -1]]}, ["tariff.tiers[0]", "rate"]),
        ({"tiers": [[None, 1]], "adjustment_per_kwh": "-1.5"}, ["tariff.adjustment_per_kwh"]),
        ({"tiers": [[None, 1]], "name": 5}, ["tariff.name"]),
        ({"preset": "tepco_x"}, ["tariff.preset", "tepco_x", "tepco_b", "tokyo_gas_1s"]),
    ],
)
def test_declarative_validation(spec, words):
    with pytest.raises(TariffError) as e:
        tariff.load(tariff=spec)
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    assert isinstance(e.value, ValueError)


def test_unknown_amperage_names_valid_ones():
    t = tariff.load("tokyo_gas_1")
    with pytest.raises(TariffError) as e:
        t.charge(20, 100)
    assert "20 A" in str(e.value) and "30, 40, 50, 60" in str(e.value)
    with pytest.raises(TariffError):
        t.check(25)
    t.check(50)
    for bad in ("abc", None, 0, -10):
        with pytest.raises(TariffError):
            t.charge(bad, 1)
    with pytest.raises(TariffError):
        t.charge(30, None)


def test_unknown_name_lists_presets():
    with pytest.raises(TariffError) as e:
        tariff.load("no_such_plan_xyz")
    msg = str(e.value)
    for p in ("tepco_b", "tokyo_gas_1", "tokyo_gas_1s", "tokyo_gas_2"):
        assert p in msg
    for bad in ("os.path.join", "bad-name", "1abc", "", "a.", "__import__('os')"):
        with pytest.raises(TariffError) as e:
            tariff.load(bad)
        assert "tepco_b" in str(e.value)
    with pytest.raises(TariffError):
        tariff.load(42)


def test_load_needs_exactly_one():
    with pytest.raises(TariffError) as e:
        tariff.load()
    assert "tepco_b" in str(e.value)
    with pytest.raises(TariffError) as e:
        tariff.load("tepco_b", {"tiers": [[None, 1]]})
    assert "not both" in str(e.value)


@pytest.fixture
def plugin_dir(tmp_path):
    sys.path.insert(0, str(tmp_path))
    names = []
    yield tmp_path, names
    sys.path.remove(str(tmp_path))
    for n in names:
        sys.modules.pop(n, None)


def _write(plugin_dir, body):
    d, names = plugin_dir
    name = "tariff_plugin_%s" % uuid.uuid4().hex[:8]
    (d / (name + ".py")).write_text(body)
    names.append(name)
    return name


def test_plugin_default_and_named_function(plugin_dir):
    name = _write(
        plugin_dir,
        "def charge(contract_amperage, kwh):\n"
        "    return contract_amperage * 10 + kwh * 20.7\n"
        "def night(contract_amperage, kwh):\n"
        "    return 1000\n"
        "RATE = 3\n",
    )
    t = tariff.load(charge_func=name)
    assert t.name == name
    assert t.amperages is None
    assert t.charge(30, 10) == 507  # 300 + 207.0 floored
    assert tariff.load(charge_func=name + ".night").charge(30, 10) == 1000
    with pytest.raises(TariffError) as e:
        tariff.load(charge_func=name + ".missing")
    assert "no function missing" in str(e.value)
    with pytest.raises(TariffError):
        tariff.load(charge_func=name + ".RATE")  # not callable


def test_plugin_failures(plugin_dir):
    broken = _write(plugin_dir, "import no_such_module_for_tariff_test\n")
    with pytest.raises(TariffError) as e:
        tariff.load(broken)
    assert "import failed" in str(e.value) and "tepco_b" in str(e.value)
    syntax = _write(plugin_dir, "def charge(a, k) return 1\n")
    with pytest.raises(TariffError) as e:
        tariff.load(syntax)
    assert "import failed" in str(e.value) and "tepco_b" in str(e.value)
    raising = _write(plugin_dir, "def charge(a, k):\n    raise RuntimeError('boom')\n")
    with pytest.raises(TariffError) as e:
        tariff.load(raising).charge(30, 1)
    assert "boom" in str(e.value)
    wrong = _write(plugin_dir, "def charge(a, k):\n    return 'lots'\n")
    with pytest.raises(TariffError) as e:
        tariff.load(wrong).charge(30, 1)
    assert "expected a number" in str(e.value)


def test_firmware_example_plugin():
    fw = os.path.join(ROOT, "firmware")
    sys.path.insert(0, fw)
    try:
        t = tariff.load(charge_func="tariff_custom_example")
        # See docs/tariffs.md: the example is tepco_b's tiers with an adjustment of
        # -3.74 yen/kWh and a 0.5 % set discount on the whole bill.
        # 30 A, 200 kWh: 935.25 + 3576 + 2912 - 200*3.74=748 = 6675.25; x 0.995 = 6641.87
        assert t.charge(30, 200) == 6641
        # 0 kWh: 935.25 x 0.995 = 930.57
        assert t.charge(30, 0) == 930
        # 40 A, 500 kWh: 1247 + 3576 + 6552 + 8098 - 500*3.74=1870 = 17603; x 0.995 = 17514.98
        assert t.charge(40, 500) == 17514
    finally:
        sys.path.remove(fw)
        sys.modules.pop("tariff_custom_example", None)


# ---- Tariff.bill() against a reference written from docs/tariffs.md with exact fractions ----
from fractions import Fraction  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _cents(lo, hi):
    return st.integers(lo, hi).map(lambda c: c / 100)


def _ref_bill(spec, amps, sy, sm, wh):
    """The documented rules, independently: whole kWh half up; floor(basic + energy + fuel); floor(levy)."""
    k = (wh[0] + wh[1] + 500) // 1000
    k0 = min((wh[0] + 500) // 1000, k)
    total = Fraction(str(spec["basic"][str(amps)]))
    low = 0
    for upper, rate in spec["tiers"]:
        top = k if upper is None else min(k, upper)
        if top > low:
            total += Fraction(str(rate)) * (top - low)
        if upper is None or k <= upper:
            break
        low = upper
    bm = sy * 12 + sm  # month index of the bill month (the month after the start)

    def figure(table, key):
        best = None
        for ym, yen in table.items():
            y, m = int(ym[:4]), int(ym[5:])
            if y * 12 + m - 1 <= key and (best is None or y * 12 + m - 1 > best[0]):
                best = (y * 12 + m - 1, yen)
        return Fraction(str(best[1])) if best else 0

    adj = spec.get("adjustments", {})
    fuel = adj.get("fuel", {})
    if adj.get("fuel_by") == "use":
        total += figure(fuel, bm - 1) * k0 + figure(fuel, bm) * (k - k0)
    else:
        total += figure(fuel, bm) * k
    yen = max(0, int(total // 1))
    return yen + int(figure(adj.get("levy", {}), bm) * k // 1)


_months = st.sampled_from(["2026-%02d" % m for m in range(1, 13)] + ["2027-01", "2027-02"])


@settings(max_examples=300, deadline=None)
@given(
    basic=_cents(0, 200000),
    r1=_cents(0, 5000),
    r2=_cents(0, 5000),
    r3=_cents(0, 5000),
    limits=st.tuples(st.integers(1, 400), st.integers(1, 400)),
    fuel=st.dictionaries(_months, _cents(-1500, 1500), max_size=4),
    levy=st.dictionaries(_months, _cents(0, 600), max_size=2),
    by=st.sampled_from(["bill", "use"]),
    sm=st.integers(1, 12),
    wh=st.tuples(st.integers(0, 900000), st.integers(0, 900000)),
)
def test_bill_matches_the_documented_rules(basic, r1, r2, r3, limits, fuel, levy, by, sm, wh):
    a, b = sorted(limits)
    tiers = [[a, r1], [None, r3]] if a == b else [[a, r1], [b, r2], [None, r3]]
    spec = {
        "basic": {"30": basic},
        "tiers": tiers,
        "adjustments": {"fuel": fuel, "levy": levy, "fuel_by": by},
    }
    t = tariff.load(tariff=spec)
    assert t.bill(30, 2026, sm, list(wh))[0] == _ref_bill(spec, 30, 2026, sm, wh)
