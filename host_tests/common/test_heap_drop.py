"""Code the device needs only at times is dropped from sys.modules again (CPython and MicroPython).

On the device .mpy bytecode lives in the heap; start-up and rare work sit
in their own modules (session.join, link.sk_scan, session.recover,
billing.plans, ambient.repair, the screens not on display) that lib/lazy.py imports for
the work and forgets afterwards (sys.modules and the package attribute), so
the steady state does not keep them.
Plain asserts: run by pytest and by `make test-mp` on the wasm build.
"""

import sys

import log
from ambient.backlog import Backlog
from ambient.limiter import Limiter
from billing import tariff
from testkit import skip, tmp
from ui import screens, view

try:
    import harness
except ImportError:  # sim/ is not on sys.path
    harness = None

try:
    import framebuf

    class Panel(framebuf.FrameBuffer):
        def __init__(self, width, height):
            super().__init__(bytearray(width * height // 2), width, height, framebuf.GS4_HMSB)
            self.width = width
            self.height = height

except ImportError:  # CPython
    from canvas import Canvas as Panel  # pyright: ignore[reportMissingImports]


def _held(name):
    """True while module `name` is reachable: in sys.modules or as its package's attribute."""
    if name in sys.modules:
        return True
    pkg, _, attr = name.rpartition(".")
    return bool(pkg) and pkg in sys.modules and attr in sys.modules[pkg].__dict__


def _gone(*names):
    return [n for n in names if _held(n)]


def test_tariff_parsing_is_dropped_after_load():
    sys.modules.pop("billing.plans", None)
    t = tariff.load("tepco_b")
    assert t.charge(30, 100) == 3915  # 935.25 yen + 100 kWh x 29.80 yen, floored
    assert _gone("billing.plans") == []
    try:
        tariff.load(tariff={"tiers": []})
        raise AssertionError("no TariffError")
    except tariff.TariffError:
        pass
    assert _gone("billing.plans") == []  # also after an error


def test_forget_drops_only_what_was_loaded_since():
    import lazy

    for n in ("billing.holidays", "billing.usage"):
        lazy.drop(n)
    before = lazy.loaded()
    lazy.load("billing.usage")  # it imports the calendar (billing), loaded already or not
    lazy.load("billing.holidays")
    assert _held("billing.usage") and _held("billing.holidays")
    lazy.forget(before)
    assert _gone("billing.usage", "billing.holidays") == []
    assert "log" in sys.modules and "lazy" in sys.modules  # loaded before: kept


def test_backlog_repair_code_is_dropped():
    p = tmp("sm_heap_backlog")
    with open(p, "wb") as f:
        f.write(b'{"d1": 1.0}\n{"d1": 2.0}\ngarbage\n-1\n')
    b = Backlog(p)
    assert len(b) == 1 and b.peek_body(b"[", 5) == (b'[{"d1": 2.0}]}', 1)
    b.add({"d1": 3.0})
    b.drop(2)  # no peek_body before: the repair module finds the new head
    lim = Limiter()
    lim.restore([None, 1, 1, 5, 5])
    assert lim.used_today(86400 + 10) == 5
    assert _gone("ambient.repair") == []


def test_only_the_screen_on_display_is_imported():
    fb = Panel(160, 80)
    v = view.View()
    screens.draw(fb, v, "diagnostics")
    assert "ui.diagnostics" in sys.modules
    screens.draw(fb, v, "today")
    assert "ui.today" in sys.modules and _gone("ui.diagnostics") == []
    screens.draw(fb, v, "main")
    assert "ui.main" in sys.modules and _gone("ui.diagnostics", "ui.today") == []


def test_session_start_up_code_is_dropped_once_joined():
    if harness is None:
        skip("needs sim/ on sys.path")
    import lazy
    import store

    # an earlier test at DEBUG level leaves the line formatter loaded (by design), the codec tests
    # import meter.frames
    for name in ("session.join", "link.sk_scan", "session.recover", "meter.frames"):
        lazy.drop(name)
    log.set_level(log.INFO)
    log.set_sink(lambda line: None)
    try:
        world = harness.World()
        s = world.session(store.Store(tmp("sm_heap_session.json")), reading_day=22)
        assert "session.join" in sys.modules  # the start-up task runs from it
        assert world.run(s, 120000, lambda: s.reading is not None and s.period_kwh is not None)
        assert s.state == "ready"
        # the baseline was fetched: its frames were built by meter.frames, loaded for the call
        assert _gone("session.join", "link.sk_scan", "session.recover", "meter.frames") == []
        world.module.power_cycle()  # the module restarts: the session sets it up again
        assert world.run(s, 120000, lambda: s.state == "start" or s.state == "join")
        assert world.run(s, 120000, lambda: s.state == "ready")
        assert _gone("session.join", "link.sk_scan", "session.recover") == []
        assert world.module.stats["joined"] == 2  # joined again after the power cut
        assert s.close(3000, world.clock.advance) is True  # SKTERM answered by EVENT 27
        assert world.module.stats["terms"] == 1
        assert s.state == "closed" and _gone("session.recover") == []
    finally:
        log.set_sink(print)
