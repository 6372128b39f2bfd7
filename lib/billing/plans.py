"""Tariff parsing: presets, declarative dicts and plug-ins (see lib/billing/tariff.py).

Start-up work only: tariff.load() imports this module for the call and
drops it from sys.modules afterwards (lazy.call). Nothing here uses
eval/exec. Time bands, days off, dated adjustments and reading-day
schedules are parsed by billing.parse, loaded only for a config that has them.
"""

import lazy

from billing.tariff import Tariff, TariffError, _fail, _num, _show

# Published unit prices incl. 10% tax, as of 2026-04 (docs/tariffs.md).
PRESETS = {
    "tepco_b": {  # TEPCO 従量電灯B
        "basic": {
            "10": 311.75,
            "15": 467.63,
            "20": 623.50,
            "30": 935.25,
            "40": 1247.00,
            "50": 1558.75,
            "60": 1870.50,
        },
        "tiers": ((120, 29.80), (300, 36.40), (None, 40.49)),
    },
    "tokyo_gas_1": {  # 東京ガス ずっとも電気1 (30-60 A)
        "basic": {"30": 935.25, "40": 1247.00, "50": 1558.75, "60": 1870.50},
        "tiers": ((140, 34.18), (350, 34.39), (None, 36.92)),
    },
    "tokyo_gas_1s": {  # 東京ガス ずっとも電気1S
        "basic": {
            "10": 311.74,
            "15": 467.61,
            "20": 623.48,
            "30": 935.22,
            "40": 1246.96,
            "50": 1558.70,
            "60": 1870.44,
        },
        "tiers": ((120, 29.70), (300, 35.69), (None, 39.50)),
    },
    "tokyo_gas_2": {  # 東京ガス ずっとも電気2 (kVA contracts: give kVA x 10 as A)
        "basic_per_10a": 311.75,
        "tiers": ((360, 34.42), (None, 36.59)),
    },
    # TEPCO スマートライフS: night 1:00-6:00 and day 6:00-1:00, every day (docs/tariffs.md).
    # No basic charge we could cite: the config must give "basic" or "basic_per_10a".
    "tepco_smartlife_s": {
        "bands": (
            {"name": "night", "time": "01:00-06:00", "yen": 27.86},
            {"name": "day", "yen": 35.76},
        ),
    },
}

_KEYS = (
    "adjustment_per_kwh",
    "adjustments",
    "bands",
    "basic",
    "basic_per_10a",
    "days_off",
    "name",
    "preset",
    "tiers",
)


def _presets():
    return "presets: " + ", ".join(sorted(PRESETS))


def _milli(v):
    return int(round(v * 1000))


def _tiers(v):
    if type(v) not in (list, tuple) or not v:
        _fail("tariff.tiers", "a non-empty list of [limit_kwh, yen_per_kwh], the last limit null", v)
    out = []
    prev = 0
    last = len(v) - 1
    for i, t in enumerate(v):
        w = "tariff.tiers[%d]" % i
        if type(t) not in (list, tuple) or len(t) != 2:
            _fail(w, "[limit_kwh, yen_per_kwh]", t)
        limit, rate = t
        if not _num(rate) or rate < 0:
            _fail(w, "a rate in yen/kWh >= 0", rate)
        if limit is None and i < last:
            raise TariffError(w + ": only the last tier may have limit null")
        if limit is not None and i == last:
            _fail(w, "limit null in the last tier (no upper bound)", limit)
        if limit is not None and (not _num(limit) or limit <= prev):
            _fail(w, "a limit in kWh above %s" % prev, limit)
        prev = limit
        out.append((None if limit is None else _milli(limit), _milli(rate)))
    return out


def from_dict(spec, name=None):
    """Tariff from a declarative dict (see module doc); TariffError names the bad key."""
    if type(spec) is not dict:
        _fail("tariff", "an object", spec)
    for k in spec:
        if k not in _KEYS:
            raise TariffError("tariff: unknown key %s (known: %s)" % (_show(k), ", ".join(_KEYS)))
    base = spec.get("preset")
    if base is not None:
        if base not in PRESETS:
            _fail("tariff.preset", _presets(), base)
        merged = dict(PRESETS[base])
        if "basic" in spec or "basic_per_10a" in spec:
            merged.pop("basic", None)
            merged.pop("basic_per_10a", None)
        elif base == "tepco_smartlife_s":  # no basic charge we could cite
            raise TariffError(
                "tariff: preset %s has no basic charge we can cite; give basic or basic_per_10a "
                "from your bill" % base
            )
        if "bands" in spec:
            merged.pop("tiers", None)
        if "tiers" in spec:
            merged.pop("bands", None)
        merged.update(spec)
        spec = merged
        name = name or base
    nm = spec.get("name", name or "custom")
    if type(nm) is not str:
        _fail("tariff.name", "a string", nm)
    basic = spec.get("basic")
    per_10a = spec.get("basic_per_10a")
    if basic is not None and per_10a is not None:
        raise TariffError("tariff: give basic or basic_per_10a, not both")
    if basic is not None:
        if type(basic) is not dict or not basic:
            _fail("tariff.basic", 'an object of contract A -> yen, e.g. {"30": 935.25}', basic)
        b = {}
        for k, yen in basic.items():
            w = "tariff.basic[%s]" % _show(k)
            try:
                a = int(k)
            except (TypeError, ValueError):
                a = 0
            if a <= 0 or type(k) is bool:
                raise TariffError(w + ": contract amperage must be a whole number of A")
            if not _num(yen) or yen < 0:
                _fail(w, "a number of yen >= 0", yen)
            b[a] = _milli(yen)
        basic = b
    if per_10a is not None:
        if not _num(per_10a) or per_10a < 0:
            _fail("tariff.basic_per_10a", "a number of yen >= 0", per_10a)
        per_10a = _milli(per_10a)
    bands = spec.get("bands")
    if bands is not None and "tiers" in spec:
        raise TariffError("tariff: give tiers or bands, not both")
    if bands is None and "tiers" not in spec:
        raise TariffError("tariff.tiers: missing, e.g. [[120, 29.80], [300, 36.40], [null, 40.49]]")
    adj = spec.get("adjustment_per_kwh", 0)
    if not _num(adj):
        _fail("tariff.adjustment_per_kwh", "a number of yen/kWh", adj)
    t = Tariff(nm, basic, per_10a, () if bands is not None else _tiers(spec["tiers"]), _milli(adj))
    if bands is not None or "days_off" in spec or "adjustments" in spec:
        lazy.call("billing.parse", "extend", t, spec)  # time bands, days off, dated figures
    return t


def from_name(name):
    """Tariff from a preset name or a plug-in "module" / "module.function" on sys.path."""
    if type(name) is not str:
        _fail("charge_func", "a preset or module name", name)
    if name in PRESETS:
        return from_dict({"preset": name}, name)
    parts = name.split(".")
    for p in parts:
        for c in p:
            if not (c.isalpha() or c.isdigit() or c == "_") or ord(c) > 127:
                p = ""
        if len(parts) > 2 or not p or p[0].isdigit():
            _fail("charge_func", "a 'module' or 'module.function' name, or one of the " + _presets(), name)
    try:
        mod = __import__(parts[0])
    except Exception as e:  # ImportError, or anything the module raised while loading
        raise TariffError(
            "charge_func %s: not a preset, and import failed: %s; %s" % (_show(name), e, _presets())
        )
    fn_name = parts[1] if len(parts) == 2 else "charge"
    fn = getattr(mod, fn_name, None)
    if not callable(fn):
        raise TariffError(
            "charge_func %s: no function %s(contract_amperage, kwh) in module %s"
            % (_show(name), fn_name, parts[0])
        )
    return Tariff(name, func=fn)


def load(charge_func=None, tariff=None):
    """Tariff from the config's charge_func (preset or plug-in name) or tariff (dict or preset name)."""
    if charge_func is not None and tariff is not None:
        raise TariffError("give charge_func or tariff, not both")
    if tariff is not None:
        return from_name(tariff) if type(tariff) is str else from_dict(tariff)
    if charge_func is not None:
        return from_name(charge_func)
    raise TariffError(
        "no tariff: set charge_func to a preset or plug-in module, or give a tariff; " + _presets()
    )
