"""Ambient's limits: one request per min_interval_s, daily_limit records a day."""

import lazy


class Limiter:
    """Keeps sends strictly more than min_interval_s apart and <= daily_limit records a day.

    now_s is wall time (Unix s, int or float). The gap must exceed
    min_interval_s, so whole-second clocks never allow a real gap below it.
    Ambient's day boundary is not documented and the service is run in JST:
    a record counts against the UTC day AND the JST day (day_offsets_s, s), so
    the limit holds whichever midnight Ambient uses. A bulk send of n records
    spends n. A clock stepping back keeps the counts (never resets early).
    """

    def __init__(self, min_interval_s=5, daily_limit=3000, day_offsets_s=(0, 32400)):
        self.min_interval_s = min_interval_s
        self.daily_limit = daily_limit
        self._offsets = day_offsets_s
        self._days = [-1] * len(self._offsets)  # day numbers (days since 1970 at each offset)
        self._counts = [0] * len(self._offsets)
        self._last = None
        self._roll_at = None  # no day ends before this wall time

    def _roll(self, now_s):
        # Unix s is a long int on a 32-bit port: each sum allocates, so only compare until a day ends
        if self._roll_at is not None and now_s < self._roll_at:
            return
        nxt = None
        for i, off in enumerate(self._offsets):
            day = int((now_s + off) // 86400)
            if day > self._days[i]:
                self._days[i] = day
                self._counts[i] = 0
            end = (self._days[i] + 1) * 86400 - off
            if nxt is None or end < nxt:
                nxt = end
        self._roll_at = nxt

    def room(self, now_s):
        """How many records one send may carry now (0 while the interval has not passed)."""
        self._roll(now_s)
        if self._last is not None and 0 <= now_s - self._last <= self.min_interval_s:
            return 0
        return max(0, self.daily_limit - self.used_today(now_s))

    def spend(self, now_s, n=1):
        """Record a send of n records at now_s (call after each attempt that reached Ambient)."""
        self._roll(now_s)
        c = self._counts
        for i in range(len(c)):
            c[i] += n
        self._last = now_s

    def used_today(self, now_s):
        """Records counted against the fuller of the tracked days."""
        self._roll(now_s)
        return max(self._counts) if self._counts else 0

    def state(self):
        """Small list to keep in the store, so a reboot does not reset the day's count."""
        return [self._last] + self._days + self._counts

    def restore(self, state):
        """Undo state(); ignores anything malformed (checked by lib/ambient/repair.py)."""
        v = lazy.call("ambient.repair", "restore", state, len(self._offsets))
        if v:
            self._last, self._days, self._counts = v
            self._roll_at = None
