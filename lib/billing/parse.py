"""Parsing of time bands, days off, dated adjustments and reading-day schedules (start-up only).

billing.plans calls extend() for a tariff whose config has "bands",
"days_off" or "adjustments"; app.config calls schedule() for a
collect_date given as a schedule. Both through lazy.call: the module is
dropped again afterwards. TariffError / ValueError name the bad key.
"""

from billing.tariff import TariffError, _fail, _num, _show


def _milli(v):
    return int(round(v * 1000))


def _minutes(v, w):
    """Minutes after midnight of "HH:MM" (a half hour: MM 00 or 30; 24:00 allowed)."""
    if type(v) is str and len(v) == 5 and v[2] == ":" and v[:2].isdigit() and v[3:].isdigit():
        h = int(v[:2])
        m = int(v[3:])
        if (m == 0 or m == 30) and h * 60 + m <= 1440:
            return h * 60 + m
    raise TariffError('%s: expected a time "HH:MM" on the half hour (00:00 to 24:00), got %s' % (w, _show(v)))


def _slots(v, w):
    """(bits for slots 0-23, bits for slots 24-47) of "HH:MM-HH:MM" (or a list of them)."""
    lo = hi = 0
    for r in v if type(v) in (list, tuple) else (v,):
        if type(r) is not str or len(r) != 11 or r[5] != "-":
            _fail(w, 'a time range "HH:MM-HH:MM", e.g. "01:00-06:00"', r)
        a = _minutes(r[:5], w) // 30
        b = _minutes(r[6:], w) // 30
        if a == b or a == 48:
            _fail(w, "a range that is not empty", r)
        s = a
        while s != b:
            if s < 24:
                lo |= 1 << s
            else:
                hi |= 1 << (s - 24)
            s = (s + 1) % 48  # a range past midnight wraps ("22:00-08:00")
            if s == 0 and b == 48:
                break
    return lo, hi


def _bands(v):
    """((days, months, lo, hi, milli-yen), ...), (names) from the config's list of bands."""
    if type(v) not in (list, tuple) or not v or len(v) > 8:
        _fail("tariff.bands", "a list of 1 to 8 bands, e.g. [{...night...}, {...day...}]", v)
    out = []
    names = []
    for i, b in enumerate(v):
        w = "tariff.bands[%d]" % i
        if type(b) is not dict:
            _fail(w, 'an object {"name", "time", "days", "months", "yen"}', b)
        for k in b:
            if k not in ("days", "months", "name", "time", "yen"):
                raise TariffError("%s: unknown key %s (known: days, months, name, time, yen)" % (w, _show(k)))
        yen = b.get("yen")
        if yen is None or not _num(yen) or yen < 0:
            _fail(w + ".yen", "a rate in yen/kWh >= 0", yen)
        days = b.get("days", "all")
        days = 3 if days == "all" else 1 if days == "work" else 2 if days == "off" else None
        if days is None:
            _fail(w + ".days", '"all", "work" or "off"', b["days"])
        months = 0xFFF
        if "months" in b:
            months = 0
            ms = b["months"]
            if type(ms) not in (list, tuple) or not ms:
                _fail(w + ".months", "a list of months 1-12", ms)
            for m in ms:
                if type(m) is not int or not 1 <= m <= 12:
                    _fail(w + ".months", "months 1-12", m)
                months |= 1 << (m - 1)
        lo, hi = (0xFFFFFF, 0xFFFFFF) if "time" not in b else _slots(b["time"], w + ".time")
        nm = b.get("name", "band %d" % (i + 1))
        if type(nm) is not str:
            _fail(w + ".name", "a string", nm)
        names.append(nm)
        out.append((days, months, lo, hi, _milli(yen)))
    for dm in (1, 2):
        for m in range(12):
            for s in range(48):
                for b in out:
                    if b[0] & dm and b[1] >> m & 1 and (b[3] if s >= 24 else b[2]) >> (s % 24) & 1:
                        break
                else:
                    raise TariffError(
                        "tariff.bands: no band for %02d:%02d on %s in month %d; end the list with a "
                        "band without time, days or months"
                        % (s // 2, s % 2 * 30, "work days" if dm == 1 else "days off", m + 1)
                    )
    return tuple(out), tuple(names)


def _days_off(v):
    """(mask: 1 Saturday, 2 Sunday, 4 public holidays; (m * 100 + d, ...)) of the config's days_off."""
    if v is None:
        return 7, ()
    if type(v) not in (list, tuple):
        _fail("tariff.days_off", 'a list like ["sat", "sun", "holidays", "12-31"]', v)
    mask = 0
    days = []
    for x in v:
        if x == "sat":
            mask |= 1
        elif x == "sun":
            mask |= 2
        elif x == "holidays":
            mask |= 4
        elif type(x) is str and len(x) == 5 and x[2] == "-" and x[:2].isdigit() and x[3:].isdigit():
            m = int(x[:2])
            d = int(x[3:])
            if not 1 <= m <= 12 or not 1 <= d <= 31:
                _fail("tariff.days_off", 'a day "MM-DD"', x)
            days.append(m * 100 + d)
        else:
            _fail("tariff.days_off", '"sat", "sun", "holidays" or a day "MM-DD"', x)
    return mask, tuple(days)


def _month(k, w):
    """Month index of "YYYY-MM" (2000-2099)."""
    if type(k) is str and len(k) == 7 and k[4] == "-" and k[:4].isdigit() and k[5:].isdigit():
        y = int(k[:4])
        m = int(k[5:])
        if 2000 <= y <= 2099 and 1 <= m <= 12:
            return y * 12 + m - 1
    raise TariffError('%s: expected months "YYYY-MM" (e.g. "2026-11"), got %s' % (w, _show(k)))


def _figures(v, w, low):
    if type(v) is not dict:
        _fail(w, 'an object of "YYYY-MM": yen per kWh', v)
    out = []
    for k in sorted(v):
        yen = v[k]
        if not _num(yen) or low is not None and yen < low:
            _fail("%s[%s]" % (w, _show(k)), "a number of yen/kWh" + (" >= 0" if low == 0 else ""), yen)
        out.append(_month(k, w))
        out.append(_milli(yen))
    return out


def _adjustments(v):
    """(fuel, levy, fuel by month of use) from the config's adjustments."""
    if v is None:
        return [], [], False
    if type(v) is not dict:
        _fail("tariff.adjustments", 'an object {"fuel": {...}, "levy": {...}, "fuel_by": "bill"}', v)
    for k in v:
        if k not in ("fuel", "fuel_by", "levy"):
            raise TariffError("tariff.adjustments: unknown key %s (known: fuel, fuel_by, levy)" % _show(k))
    by = v.get("fuel_by", "bill")
    if by not in ("bill", "use"):
        _fail("tariff.adjustments.fuel_by", '"bill" (the month of the bill) or "use" (the month of use)', by)
    fuel = _figures(v.get("fuel", {}), "tariff.adjustments.fuel", None)
    levy = _figures(v.get("levy", {}), "tariff.adjustments.levy", 0)
    return fuel, levy, by == "use"


def extend(t, spec):
    """Set the bands, days off and dated figures of spec on Tariff t."""
    bands = spec.get("bands")
    if bands is not None:
        t.bands, t.band_names = _bands(bands)
        t.nbands = len(t.bands)
    t.off_mask, t.off_days = _days_off(spec.get("days_off"))
    t.fuel, t.levy, t.fuel_by_use = _adjustments(spec.get("adjustments"))


def schedule(v):
    """collect_date as the calendar uses it: an int day 1-31, or {month index: day, 0: fallback day}.

    v: an int, or {"YYYY-MM": day, ..., "default": day}. ValueError says what is wrong.
    """
    if type(v) is str and v.isdigit():
        v = int(v)  # the earlier monitor's string
    if type(v) is int:
        if 1 <= v <= 31:
            return v
        raise ValueError("expected the meter-reading day, 1 to 31, got %s" % _show(v))
    if type(v) is not dict:
        raise ValueError('expected a day 1 to 31 or {"YYYY-MM": day, ..., "default": day}, got %s' % _show(v))
    out = {}
    for k, d in v.items():
        if type(d) is not int or not 1 <= d <= 31:
            raise ValueError("[%s]: expected a day 1 to 31, got %s" % (_show(k), _show(d)))
        if k == "default":
            out[0] = d
        else:
            try:
                out[_month(k, "month")] = d
            except TariffError:
                raise ValueError('key %s: expected "YYYY-MM" or "default"' % _show(k))
    if 0 not in out:
        raise ValueError('missing "default": the reading day of the months not listed')
    return out
