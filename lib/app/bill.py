"""The period's prices, made once each half hour: the app's rare half (lib/lazy.py).

App loads this for one call each half hour and after each history answer
(docs/tariffs.md, "From the 30-minute history to the yen"): the answer is
cached on flash, the days the cache lacks are asked of the session (a few at
a time: a reading never waits for them), billing.usage.refresh() makes the
Period, and the Period is priced into a short table of steps. Between two
calls the App looks the yen up in that table (loop.yen_at()), so the tariff's
code is not resident: the bill's yen changes only where a band's kWh, rounded
half up, changes (billing.tariff.Tariff.bill()).
"""

import lazy


def update(app, path, wall, fresh, old, period_wh):
    """The prices for Unix time wall (s), or old while days are still being fetched in old's half hour.

    app: the App (its saved tariff, amperage, cfg and session); path: the
    history cache file (None: no history, the period's Wh are priced in the
    band of the half hour in progress); fresh: history answers since the
    last call; period_wh: the meter's Wh since the reading day (< 0 if
    unknown). Returns (at, steps, flags, forecast Wh beyond now | None,
    forecast yen | None, (m1, d1, m2, d2), (meter day number, y, m, d),
    Wh of the history):
    at = the half hour (Japan time, Unix s // 1800) it was made for; steps:
    see steps() (None for a plug-in tariff, which the App calls itself); the
    period's first and last days: App.period(); the meter's day: App.today().
    """
    s = app.session
    rd = app.cfg["collect_date"]
    w = wall + 32400  # the meter's days are Japan time
    before = lazy.loaded()
    cal = lazy.load("billing")
    u = lazy.load("billing.usage")
    try:
        y, m, d = cal.civil_from_days(w // 86400)
        ago = ()
        if path is not None:
            h = s.history
            if fresh and h is not None and h[0] is not None:
                v = h[3]
                i = 48
                if h is s.today:  # fetched as today: its last half hour was still counting
                    i = 47
                    while i and v[i] is None:
                        i -= 1  # from i on not cached as final: the day is fetched again once it is over
                u.store_day(path, h[0], h[1], h[2], v, i)
            ago = u.wanted(path, rd, y, m, d, 3)
            for k in ago:
                s.request_history(k)
        s.request_today()  # today's half hours, at most every 30 min: in their bands, and d7
        if ago and fresh and old is not None and old[0] == w // 1800:
            return old  # the next answer is on its way: price the period once the days are in
        t = lazy.load("billing.tariff").restore(app.tariff)
        sec = w % 86400
        p = u.refresh(t, path, rd, (y, m, d, sec // 3600, sec // 60 % 60), s.today)
        x = 0 if period_wh < p.hist else period_wh - p.hist
        a = app.amperage
        st, flags = (None, 0) if t.func else steps(t, a, p, x, a * 100)  # A x 100 V for an hour:
        # twice the most a half hour can use
        wh = list(p.wh)
        wh[p.live] += x
        fwh = fyen = None
        if p.extra is not None:
            fwh = sum(p.extra)
            for i in range(len(wh)):
                wh[i] += p.extra[i]
            fyen = t.bill(a, p.sy, p.sm, wh)[0]
        ly, lm, ld, _, _, _ = cal.local_date(wall, app.cfg["utc_offset_s"])
        _, m1, d1 = cal.billing_period_start(rd, ly, lm, ld)
        _, m2, d2 = cal.billing_period_end(rd, ly, lm, ld)
        hist = p.hist
    finally:
        lazy.forget(before)  # the calendar, usage, the tariff (and holidays, for a tariff with bands)
    # what the App keeps for half an hour is made after this update's garbage is gone: low in
    # the heap, not scattered above it where it would split the free space (an 8 KB block)
    p = t = None
    lazy.collect()
    st = None if st is None else list(st)
    return (w // 1800, st, flags, fwh, fyen, (m1, d1, m2, d2), (w // 86400, y, m, d), hist)


def steps(t, a, p, x, span):
    """([limit Wh, yen, limit Wh, yen, ...], flags): the yen while the period's Wh stay below each limit.

    t: the Tariff; a: contract A; p: the Period; x: Wh the history lacks
    (priced in p.live, the band of the half hour in progress), from x to
    x + span. Tariff.bill() rounds each band's kWh (both months) and, for a
    fuel-cost figure per month of use, the first month's kWh, half up: the
    yen changes only where one of those sums crosses n * 1000 + 500 Wh.
    flags: Tariff.bill()'s (FUEL_OLD | ...), the same for every step.
    """
    nb = t.nbands
    wh = list(p.wh)
    live = p.live
    base = wh[live]
    sums = [wh[live % nb] + wh[live % nb + nb]]  # the live band, both months
    if t.fuel_by_use and live < nb:
        sums.append(sum(wh[:nb]))  # the first month
    out = []
    end = x + span
    flags = 0
    while True:
        wh[live] = base + x
        yen, flags = t.bill(a, p.sy, p.sm, wh)
        nxt = end + 1
        for v in sums:
            e = x + 1000 - (v + x + 500) % 1000  # the next x where v + x rounds to one more kWh
            if e < nxt:
                nxt = e
        out.append(p.hist + nxt)
        out.append(yen)
        if nxt > end:
            break
        x = nxt
    return out, flags
