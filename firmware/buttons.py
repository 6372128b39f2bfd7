"""Buttons, active low, polled and debounced (no IRQ, no allocation per poll).

Buttons(((name, pin), ...), clock): poll() returns a button's name once per
short press (on release, after at least debounce_ms pressed and less than
long_ms), name + "_long" once when it is held for long_ms, else None.
"""

from ticks import ticks_diff


class Buttons:
    def __init__(self, buttons, clock, debounce_ms=30, long_ms=1000):
        self._names = [b[0] for b in buttons]
        self._longs = [b[0] + "_long" for b in buttons]
        self._pins = [b[1] for b in buttons]
        self._clock = clock
        self._debounce = debounce_ms
        self._long = long_ms
        n = len(buttons)
        self._raw = [1] * n  # last level read
        self._since = [0] * n  # ticks ms of the last raw change
        self._down = [False] * n  # debounced state: pressed
        self._held = [False] * n  # the long press was reported

    def poll(self):
        """The next press event ("a", "b", "a_long", ...) or None."""
        now = self._clock()
        for i in range(len(self._pins)):
            level = self._pins[i].value()
            if level != self._raw[i]:
                self._raw[i] = level
                self._since[i] = now
                continue
            held = ticks_diff(now, self._since[i])
            pressed = level == 0
            if pressed != self._down[i] and held >= self._debounce:
                self._down[i] = pressed
                if pressed:
                    self._held[i] = False
                elif not self._held[i]:
                    return self._names[i]
            elif pressed and self._down[i] and not self._held[i] and held >= self._long:
                self._held[i] = True
                return self._longs[i]
        return None
