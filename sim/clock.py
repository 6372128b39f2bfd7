"""A virtual clock for the simulator and tests.

VirtualClock(start_ticks=0, wall=None): now_ms is absolute simulated time
(ms since the clock was made); ticks_ms() wraps at 2**30 like MicroPython
(and lib/ticks.py) and allocates nothing; wall() gives Unix seconds (UTC)
of a settable virtual wall clock, or None while it is unset. Time moves
only through advance(ms) / advance_to(abs_ms).
"""

_MASK = (1 << 30) - 1


class VirtualClock:
    def __init__(self, start_ticks=0, wall=None):
        self.now_ms = 0
        self._ticks = start_ticks & _MASK
        self._wall_ms = None  # unix ms at now_ms == 0
        if wall is not None:
            self.set_wall(wall)

    def ticks_ms(self):
        """Wrapping ms ticks (a small int)."""
        return self._ticks

    def advance(self, ms):
        """Move the clock forward by ms (>= 0)."""
        ms = int(ms)
        if ms > 0:
            self.now_ms += ms
            self._ticks = (self._ticks + ms) & _MASK

    def advance_to(self, abs_ms):
        if abs_ms > self.now_ms:
            self.advance(abs_ms - self.now_ms)

    def set_wall(self, unix_s):
        """Set the wall clock so that wall() == unix_s now."""
        self._wall_ms = int(unix_s * 1000) - self.now_ms

    def clear_wall(self):
        self._wall_ms = None

    def wall(self):
        """Unix seconds (UTC, int) or None while unset."""
        if self._wall_ms is None:
            return None
        return (self._wall_ms + self.now_ms) // 1000

    def wall_ms(self, abs_ms=None):
        """Unix ms at abs_ms (default now); None while unset."""
        if self._wall_ms is None:
            return None
        return self._wall_ms + (self.now_ms if abs_ms is None else abs_ms)
