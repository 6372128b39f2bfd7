"""Buttons, active low, polled and debounced (no IRQ, no allocation per poll).

Buttons(((name, pin), ...), clock): poll() returns a button's name once per
short press (on release, after at least debounce_ms pressed and less than
long_ms), name + "_long" once when it is held for long_ms, else None.
"""

from ticks import ticks_diff


class Buttons:
    def __init__(self, buttons, clock, debounce_ms=30, long_ms=1000):
        # per button: [name, name + "_long", pin, last level read, ticks ms of its last change,
        # 0 up / 1 pressed / 2 pressed and the long press reported]
        self._keys = [[b[0], b[0] + "_long", b[1], 1, 0, 0] for b in buttons]
        self._clock = clock
        self._debounce = debounce_ms
        self._long = long_ms

    def poll(self):
        """The next press event ("a", "b", "a_long", ...) or None."""
        now = self._clock()
        for k in self._keys:
            level = k[2].value()
            if level != k[3]:
                k[3] = level
                k[4] = now
                continue
            held = ticks_diff(now, k[4])
            state = k[5]
            if (level == 0) != (state > 0) and held >= self._debounce:
                k[5] = 1 if level == 0 else 0
                if state == 1:  # released before long_ms
                    return k[0]
            elif state == 1 and level == 0 and held >= self._long:
                k[5] = 2
                return k[1]
        return None
