"""The billing period from the meter's 30-minute history: the app's rare half (lib/lazy.py).

App loads this for one call each half hour and after each history answer
(docs/tariffs.md, "From the 30-minute history to the yen"): the answer is
cached on flash, the days the cache lacks are asked of the session (a few at
a time: a reading never waits for them), and billing.usage.refresh() makes
the Period that tariff.estimate() prices on every reading.
"""

import lazy
from billing import civil_from_days


def update(tariff, path, rd, s, fresh, w, p):
    """The Period for w (Unix s + 9 h: the meter's Japan time), or p (the last one) while days
    are still being fetched in p's half hour.

    path: the history cache file; rd: the reading day (int or schedule); s: the Session (its
    history is cached when fresh: new since the last call; days the cache lacks are queued).
    """
    u = lazy.load("billing.usage")
    try:
        h = s.history
        if fresh and h is not None and h[0] is not None:
            u.store_day(path, h[0], h[1], h[2], h[3])
        y, m, d = civil_from_days(w // 86400)
        ago = u.wanted(path, rd, y, m, d, 3)
        for k in ago:
            s.request_history(k)
        if ago and fresh and p is not None and p.at == w // 1800:
            return p  # the next answer is on its way: price the period once the days are in
        t = w % 86400
        return u.refresh(tariff, path, rd, (y, m, d, t // 3600, t // 60 % 60), s.today)
    finally:
        lazy.drop("billing.usage")
