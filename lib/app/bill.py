"""The billing period from the meter's 30-minute history: the app's rare half (lib/lazy.py).

App loads this for one call each half hour and after each history answer
(docs/tariffs.md, "From the 30-minute history to the yen"): the answer is
cached on flash, the days the cache lacks are asked of the session (a few at
a time: a reading never waits for them), and billing.usage.refresh() makes
the Period that tariff.estimate() prices on every reading.
"""

import lazy
from billing import civil_from_days
from billing.tariff import Period


def update(app, path, w, fresh, p):
    """The Period for w (Unix s + 9 h: the meter's Japan time), or p (the last one) while days
    are still being fetched in p's half hour.

    app: the App (its tariff, cfg and session); path: the history cache file. The session's
    history is cached when fresh (new since the last call); the days the cache lacks and
    today's are queued. The Period kept holds what tariff.estimate() and this need.
    """
    s = app.session
    rd = app.cfg["collect_date"]
    u = lazy.load("billing.usage")
    try:
        h = s.history
        if fresh and h is not None and h[0] is not None:
            v = h[3]
            i = 48
            if h is s.today:  # fetched as today: its last half hour was still counting
                i = 47
                while i and v[i] is None:
                    i -= 1  # from i on not cached as final: the day is fetched again once it is over
            u.store_day(path, h[0], h[1], h[2], v, i)
        y, m, d = civil_from_days(w // 86400)
        ago = u.wanted(path, rd, y, m, d, 3)
        for k in ago:
            s.request_history(k)
        s.request_today()  # today's half hours, at most every 30 min: in their bands, and d7
        if ago and fresh and p is not None and p.at == w // 1800:
            return p  # the next answer is on its way: price the period once the days are in
        t = w % 86400
        q = u.refresh(app.tariff, path, rd, (y, m, d, t // 3600, t // 60 % 60), s.today)
        p = Period()  # 7 of its 14 fields: the App keeps it (resident) until the next one
        p.sy, p.sm, p.at, p.wh, p.hist, p.live, p.extra = q.sy, q.sm, q.at, q.wh, q.hist, q.live, q.extra
        return p
    finally:
        lazy.drop("billing.usage")
        lazy.drop("billing.holidays")  # usage's import: the tariff's bands need it only in there
