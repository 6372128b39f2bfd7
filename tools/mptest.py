"""Run the common-subset tests on MicroPython (also runs on CPython).

Usage: mptest.py DIR -- imports every test_*.py in DIR and calls each of
its test_* functions; prints one line per failure and per skip and a
closing 'N passed, N failed, N skipped' line; exits 1 when anything failed
or no test passed. A test skips itself by raising the Skip of DIR/testkit.py
(testkit.skip(why)); a skip is never counted as a pass.
"""

import os
import sys


class _NoSkip(Exception):
    pass


def _trace(e):
    show = getattr(sys, "print_exception", None)  # MicroPython's traceback printer
    if show:
        show(e)


def _run_module(name, results, skip):
    try:
        mod = __import__(name)
    except Exception as e:  # an import error fails the whole file
        print("FAIL", name, "(import):", repr(e))
        _trace(e)
        results[1] += 1
        return
    for attr in sorted(dir(mod)):
        if not attr.startswith("test_"):
            continue
        fn = getattr(mod, attr)
        if not callable(fn):
            continue
        try:
            fn()
            results[0] += 1
        except skip as e:
            results[2] += 1
            print("SKIP", name + "." + attr + ":", e.args[0] if e.args else "")
        except Exception as e:
            results[1] += 1
            print("FAIL", name + "." + attr + ":", repr(e))
            _trace(e)


def _argv():
    try:
        from _mpargv import ARGV  # pyright: ignore[reportMissingImports]  # written by tools/mpwasm/run.mjs

        return ARGV
    except ImportError:
        return sys.argv


def main():
    argv = _argv()
    folder = argv[1] if len(argv) > 1 else "."
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        from testkit import Skip as skip  # pyright: ignore[reportMissingImports]
    except ImportError:
        skip = _NoSkip
    names = sorted(f[:-3] for f in os.listdir(folder) if f.startswith("test_") and f.endswith(".py"))
    results = [0, 0, 0]  # passed, failed, skipped
    for name in names:
        _run_module(name, results, skip)
    impl = sys.implementation.name
    print("%s: %d passed, %d failed, %d skipped" % (impl, results[0], results[1], results[2]))
    if results[1] or not results[0]:
        sys.exit(1)


main()
