"""What the shared tests need on both interpreters: skips, scratch files, a seeded random source.

skip(why) ends a test as skipped: under pytest it is pytest's own skip, under
tools/mptest.py it is Skip, which mptest counts as skipped (never as passed).
tmp(name) is a fresh scratch file path, tmpdir() a fresh scratch folder.
Rand(seed) gives the same numbers on CPython and MicroPython (xorshift32).
"""

import os

try:
    import pytest

    Skip = pytest.skip.Exception
except ImportError:  # MicroPython, or CPython without pytest (tools/mptest.py)

    class Skip(Exception):
        pass


try:
    import tempfile

    TMP = tempfile.gettempdir()
except ImportError:  # MicroPython
    TMP = "/tmp"
    try:
        os.mkdir(TMP)
    except OSError:
        pass

_made = [0]


def skip(why):
    raise Skip(why)


def _rm(p):
    try:
        os.remove(p)
    except OSError:
        pass


def tmp(name):
    """TMP/name with any old file (and its .tmp) removed."""
    p = TMP + "/" + name
    _rm(p)
    _rm(p + ".tmp")
    return p


def tmpdir():
    """A new empty folder under TMP."""
    while True:
        _made[0] += 1
        d = "%s/smt_%d_%d" % (TMP, os.getpid() if hasattr(os, "getpid") else 0, _made[0])
        try:
            os.mkdir(d)
        except OSError:  # left over from an earlier run: empty it and use it
            for f in os.listdir(d):
                _rm(d + "/" + f)
            if os.listdir(d):
                continue
        return d


def rmtree(d):
    """Remove folder d and the files in it (tests make no deeper trees)."""
    for f in os.listdir(d):
        _rm(d + "/" + f)
    os.rmdir(d)


def raises(exc, fn, *args, **kw):
    """The exception fn(*args, **kw) raised; AssertionError when it raised nothing or another type."""
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%r did not raise %s" % (fn, exc.__name__))


def fill_view(app, now=None):
    """Every screen's fields of app.view (the loop fills only the screen on display); returns it."""
    import lazy
    from ui import view

    if now is None:
        now = app.clock()
    if app.view is None:
        app.view = view.View()
    for name in ("connecting", "today", "diagnostics", "main"):
        lazy.call("ui." + name, "fill", app.view, app, now)
    return app.view


class Rand:
    """Deterministic xorshift32: the same sequence on every interpreter."""

    def __init__(self, seed=1):
        self.x = (seed * 2654435761) & 0xFFFFFFFF or 1

    def bits(self, n=32):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x >> (32 - n) if n < 32 else x

    def below(self, n):
        """An int in 0 .. n - 1 (n < 2**32)."""
        return self.bits() % n

    def bytes(self, n):
        return bytes(self.bits(8) for _ in range(n))

    def choice(self, seq):
        return seq[self.below(len(seq))]
