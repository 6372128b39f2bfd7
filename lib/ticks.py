"""Millisecond ticks that wrap like MicroPython's time.ticks_ms().

The session and app keep deadlines as ticks and compare them only with
ticks_diff(), so the same code runs on the device (30-bit wrapping ticks,
small ints only) and on CPython, and a test can hand in a virtual clock.
A clock is any callable returning ticks in ms.
"""

import time

try:
    from micropython import const
except ImportError:
    const = int  # CPython: const(1) == 1

_MASK = const(0x3FFFFFFF)  # 2**30 - 1
_HALF = const(0x20000000)  # 2**29

try:
    # MicroPython: wraps at 2**30
    ticks_ms = time.ticks_ms  # pyright: ignore[reportAssignmentType]
except AttributeError:  # CPython

    def ticks_ms():
        """Monotonic ms, wrapping at 2**30 like MicroPython."""
        return int(time.monotonic() * 1000) & _MASK  # pyright: ignore[reportAttributeAccessIssue]


def ticks_add(ticks, delta):
    """ticks + delta (ms), wrapped."""
    return (ticks + delta) & _MASK


def ticks_diff(a, b):
    """Signed a - b in ms; valid while |a - b| < 2**29 ms (6.2 days)."""
    return ((a - b + _HALF) & _MASK) - _HALF


def expired(now, deadline):
    """True once the clock (ticks, ms) has reached the deadline (ticks)."""
    return ticks_diff(deadline, now) <= 0
