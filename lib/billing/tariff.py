"""Electricity charge (yen) of a billing period: the part the app keeps.

Three ways to choose a tariff, all from the config, none using eval/exec
(parsing, presets and plug-in loading: lib/billing/plans.py, start-up only):
- a preset by name (plans.PRESETS);
- a declarative dict: basic charge, tiers or time bands, days off, dated
  fuel-cost adjustments and levy (docs/tariffs.md);
- a plug-in module: def charge(contract_amperage, kwh) -> yen.

Tariff.bill() prices a period the way the bill does (docs/tariffs.md cites
the rules): kWh per band rounded to whole kWh (half up), basic + energy +
fuel-cost adjustment floored to yen, the renewable levy floored to yen on
its own. Everything is integer: rates in milli-yen per kWh, energy in Wh,
sums in micro-yen (milli-yen x Wh), so float32 never loses a yen.
Tariff.charge(A, kWh) is the older undated estimate from a float kWh
(no kWh rounding, no dated figures).

estimate() turns a Period (built by billing.usage from the 30-minute
history) and the meter's period Wh into the yen now and at the period's
end (tests, tools). The app loads this module only for its half-hourly
update (lib/app/bill.py): it keeps the tariff as save()'s plain data and
looks the yen up in the steps that update makes.
"""

import lazy

FUEL_OLD = 1  # a month without its own fuel-cost figure used an earlier month's
LEVY_OLD = 2  # the levy figure is 12 months old or more
FUEL_NONE = 4  # a month before the first fuel-cost figure: none applied
LEVY_NONE = 8  # a bill month before the first levy figure: none applied


class TariffError(ValueError):
    pass


def _num(v):
    return type(v) is int or type(v) is float


def _show(v):
    r = repr(v)
    return r if len(r) <= 24 else r[:21] + "..."


def _fail(where, want, got):
    raise TariffError("%s: expected %s, got %s" % (where, want, _show(got)))


def dated(t, n):
    """(milli-yen per kWh, age in months) of the latest figure at or before month n; (0, -1) if none.

    t: flat list sorted by month [month, milli-yen, month, milli-yen, ...];
    a month is y * 12 + m - 1 (2026-11 -> 2026 * 12 + 10).
    """
    v = 0
    age = -1
    for i in range(0, len(t), 2):
        if t[i] > n:
            break
        v = t[i + 1]
        age = n - t[i]
    return v, age


class Tariff:
    """A tariff: .name, .amperages (valid contract A, or None = any), .nbands, bill(), charge().

    bands: tuple of (days, months, slots 0-23, slots 24-47, milli-yen/kWh)
    per time band, first match wins (billing.usage.band()); days 1 = work
    days, 2 = days off; months: bit m-1 set for month m; slots: bit s for
    the half hour s. off_mask (1 Saturday, 2 Sunday, 4 public holidays) and
    off_days (m * 100 + d) say which days are days off. fuel, levy: dated
    figures (see dated()); fuel_by_use: fuel figures are per month of use,
    else per bill month (the month of the reading that closes the period).
    billing.parse sets these on a declarative tariff; the class holds the
    defaults (no bands, no dated figures).
    """

    bands = None  # type: tuple | None
    band_names = None  # type: tuple | None
    nbands = 1
    off_mask = 7
    off_days = ()  # type: tuple
    fuel = ()  # type: tuple | list
    levy = ()  # type: tuple | list
    fuel_by_use = False

    def __init__(self, name, basic=None, per_10a=None, tiers=(), adjustment=0, func=None):
        self.name = name
        self._basic = basic  # {A: milli-yen}
        self._per_10a = per_10a  # milli-yen per 10 A
        self._tiers = tiers  # [(upper Wh | None, milli-yen per kWh)]
        self._adj = adjustment  # milli-yen per kWh
        self.func = func  # a plug-in's charge(contract_amperage, kwh) -> yen, or None
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

    def _tiered(self, wh):
        total = 0
        low = 0
        for upper, rate in self._tiers:
            if upper is None or wh <= upper:
                return total + rate * (wh - low)
            total += rate * (upper - low)
            low = upper
        return total

    def charge(self, contract_amperage, kwh):
        """Undated estimate in whole yen (floored, >= 0) for kwh (float) used at contract_amperage (A)."""
        fn = self.func
        if fn is not None:
            try:
                v = fn(contract_amperage, kwh)
            except Exception as e:
                raise TariffError("plug-in %s failed: %s" % (self.name, e))
            if not _num(v):
                _fail("plug-in " + self.name, "a number of yen", v)
            return int(v // 1)
        a = self.check(contract_amperage)
        if not _num(kwh):
            _fail("kWh", "a number", kwh)
        wh = int(kwh * 1000 + 0.5) if kwh > 0 else 0
        total = self._basic[a] if self._basic is not None else (self._per_10a or 0) * a // 10
        total *= 1000  # micro-yen from here on; no split known: a banded tariff's last band
        bands = self.bands
        total += bands[-1][4] * wh if bands else self._tiered(wh)
        total += self._adj * wh
        return total // 1000000 if total > 0 else 0

    def bill(self, contract_amperage, sy, sm, wh):
        """(yen, flags) of the period that starts in month (sy, sm), as the bill computes it.

        wh: Wh used per band in month (sy, sm), then per band in the month
        after (2 * nbands ints >= 0). flags: FUEL_OLD | LEVY_OLD | ... .
        A plug-in gets the period's kWh (float).
        """
        nb = self.nbands
        if self.func is not None:
            return self.charge(contract_amperage, sum(wh) / 1000), 0
        a = self.check(contract_amperage)
        bands = self.bands
        k = 0  # whole kWh of the period
        k0 = 0  # Wh of the first month
        energy = 0  # micro-yen
        for b in range(nb):
            kb = (wh[b] + wh[nb + b] + 500) // 1000  # each band's kWh rounded, half up
            k += kb
            k0 += wh[b]
            if bands:
                energy += bands[b][4] * kb * 1000
        if not bands:
            energy = self._tiered(k * 1000)
        k0 = min((k0 + 500) // 1000, k)
        total = self._basic[a] if self._basic is not None else (self._per_10a or 0) * a // 10
        total = total * 1000 + energy + self._adj * k * 1000
        flags = 0
        bm = sy * 12 + sm  # the bill month (y * 12 + m - 1 of the month after sm): the closing reading's
        if self.fuel:
            for n, kwh in ((bm - 1, k0), (bm, k - k0)) if self.fuel_by_use else ((bm, k),):
                if kwh:
                    f, age = dated(self.fuel, n)
                    total += f * kwh * 1000
                    flags |= FUEL_NONE if age < 0 else FUEL_OLD if age else 0
        yen = total // 1000000 if total > 0 else 0
        if self.levy:
            f, age = dated(self.levy, bm)
            yen += f * k // 1000  # floored on its own
            flags |= LEVY_NONE if age < 0 else LEVY_OLD if age >= 12 else 0
        return yen, flags

    def save(self):
        """This tariff as plain data for restore(): what the App keeps, so that this module's code
        is loaded only when the bill is priced (each half hour)."""
        return (
            self.name,
            self._basic,
            self._per_10a,
            self._tiers,
            self._adj,
            self.func,
            self.bands,
            self.band_names,
            self.nbands,
            self.off_mask,
            self.off_days,
            self.fuel,
            self.levy,
            self.fuel_by_use,
        )


def restore(data):
    """The Tariff that Tariff.save() gave data for."""
    t = Tariff(data[0], data[1], data[2], data[3], data[4], data[5])
    t.bands, t.band_names, t.nbands, t.off_mask, t.off_days, t.fuel, t.levy, t.fuel_by_use = data[6:]
    return t


class Period:
    """What billing.usage.refresh() derived from the history for one half hour; read by estimate().

    sy, sm, sd: first day of the period; ny, nm, nd: next reading day (the
    period's end, exclusive); at: local day number * 48 + half hour it was
    made for; wh: Wh per band in the first month then the second (from
    history); hist: sum of wh; live: index in wh that gets the Wh the
    history lacks (the half hour in progress); extra: projected Wh per
    band from now to the period's end (None: no pace known); pace_days:
    days the pace came from; missing: half hours of the period without
    history; today: Wh of today in the history.
    """

    sy = sm = sd = ny = nm = nd = 0
    at = -1
    wh = []  # type: list
    hist = live = pace_days = missing = today = 0
    extra = None  # type: list | None


def estimate(tariff, contract_amperage, p, period_wh=None):
    """(yen, flags, forecast Wh, forecast yen) now, from Period p and the meter's Wh since the reading day.

    period_wh (int Wh, None if unknown) beyond what the history holds is
    priced in the band of the half hour in progress; the forecast adds
    p.extra (None, None without a pace).
    """
    wh = list(p.wh)
    if period_wh is not None and period_wh > p.hist:
        wh[p.live] += period_wh - p.hist
    yen, flags = tariff.bill(contract_amperage, p.sy, p.sm, wh)
    if p.extra is None:
        return yen, flags, None, None
    for i in range(len(wh)):
        wh[i] += p.extra[i]
    return yen, flags, sum(wh), tariff.bill(contract_amperage, p.sy, p.sm, wh)[0]


def load(charge_func=None, tariff=None):
    """Tariff from the config's charge_func (preset or plug-in name) or tariff (dict or preset name)."""
    return lazy.call("billing.plans", "load", charge_func, tariff)  # start-up work: freed afterwards
