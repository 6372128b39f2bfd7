"""Electricity charge (yen) from contract amperage (A) and kWh in the period.

Three ways to choose a tariff, all from the config, none using eval/exec:

- a preset by name (PRESETS: tepco_b, tokyo_gas_1, tokyo_gas_1s, tokyo_gas_2);
- a declarative dict (the config's "tariff"), the same shape as a preset:
    {"name": "my plan",
     "basic": {"30": 935.25, "40": 1247.0},     # yen per month by contract A
     "tiers": [[120, 29.80], [300, 36.40], [null, 40.49]],  # [upper kWh, yen/kWh]
     "adjustment_per_kwh": -1.5}                # optional: fuel-cost adj. + levy
  "basic_per_10a" (yen per 10 A, i.e. per kVA) may replace "basic", and
  "preset": "tepco_b" starts from a preset and overrides the keys given;
- a plug-in module on sys.path named "module" or "module.function"
  (default function `charge`): def charge(contract_amperage, kwh) -> yen.

Rounding: the charge is floored to whole yen (like the earlier monitor's
int()), computed exactly in integers (milli-yen x Wh) so a tier boundary
never loses a yen to float error, and never below 0. Rates exclude the
monthly fuel-cost adjustment and renewable levy unless adjustment_per_kwh
says otherwise: the figure is an estimate (see docs/tariffs.md).

This module holds what the app keeps: Tariff and its charge(). Parsing,
the presets and plug-in loading live in lib/billing/plans.py, which load()
imports for the call and drops again (it is start-up work).
"""

import lazy


class TariffError(ValueError):
    pass


def _num(v):
    return type(v) is int or type(v) is float


def _show(v):
    r = repr(v)
    return r if len(r) <= 24 else r[:21] + "..."


def _fail(where, want, got):
    raise TariffError("%s: expected %s, got %s" % (where, want, _show(got)))


class Tariff:
    """A tariff: .name, .amperages (tuple of valid contract A, or None = any), .charge(A, kWh)."""

    def __init__(self, name, basic=None, per_10a=None, tiers=(), adjustment=0, func=None):
        self.name = name
        self._basic = basic  # {A: milli-yen}
        self._per_10a = per_10a  # milli-yen per 10 A
        self._tiers = tiers  # [(upper Wh | None, milli-yen per kWh)]
        self._adj = adjustment  # milli-yen per kWh
        self._func = func
        self.amperages = tuple(sorted(basic)) if basic else None

    def check(self, contract_amperage):
        """contract_amperage as int A; TariffError when this tariff has no basic charge for it."""
        try:
            a = int(contract_amperage)
        except (TypeError, ValueError):
            a = 0
        if a <= 0:
            _fail("contract amperage", "a whole number of A", contract_amperage)
        if self._basic is not None and a not in self._basic:
            ok = ", ".join(str(x) for x in self.amperages or ())
            raise TariffError("tariff %s: no basic charge for %d A; valid: %s" % (self.name, a, ok))
        return a

    def charge(self, contract_amperage, kwh):
        """Charge in whole yen (floored, >= 0) for kwh used in the period at contract_amperage (A)."""
        if self._func is not None:
            try:
                v = self._func(contract_amperage, kwh)
            except Exception as e:
                raise TariffError("plug-in %s failed: %s" % (self.name, e))
            if not _num(v):
                _fail("plug-in " + self.name, "a number of yen", v)
            return int(v // 1)
        a = self.check(contract_amperage)
        if not _num(kwh):
            _fail("kWh", "a number", kwh)
        if self._basic is not None:
            total = self._basic[a]
        else:
            total = (self._per_10a or 0) * a // 10
        total *= 1000  # micro-yen from here on
        wh = int(kwh * 1000 + 0.5) if kwh > 0 else 0
        low = 0
        for upper, rate in self._tiers:
            if upper is None or wh <= upper:
                total += rate * (wh - low)
                break
            total += rate * (upper - low)
            low = upper
        total += self._adj * wh
        return total // 1000000 if total > 0 else 0


def load(charge_func=None, tariff=None):
    """Tariff from the config's charge_func (preset or plug-in name) or tariff (dict or preset name)."""
    return lazy.call("billing.plans", "load", charge_func, tariff)  # start-up work: freed afterwards
