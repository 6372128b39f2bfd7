"""Code the device needs only at times is dropped from sys.modules again (CPython and MicroPython).

On the device .mpy bytecode lives in the heap; start-up and rare work sit
in their own modules (session_setup, sk_setup, session_rare, tariff_spec,
ambient_rare, screens_more) that are imported for the work and removed
from sys.modules afterwards, so the steady state does not keep them.
Plain asserts: run by pytest and by `make test-mp` on the wasm build.
"""

import os
import sys

import ambient
import log
import screens
import tariff
import view

try:
    import tempfile

    TMP = tempfile.gettempdir()
except ImportError:  # MicroPython
    TMP = "/tmp"

try:
    import bp35a1
    import harness
except ImportError:
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


def _gone(*names):
    return [n for n in names if n in sys.modules]


def _path(name):
    p = TMP + "/" + name
    for f in (p, p + ".tmp"):
        try:
            os.remove(f)
        except OSError:
            pass
    return p


def test_tariff_parsing_is_dropped_after_load():
    sys.modules.pop("tariff_spec", None)
    t = tariff.load("tepco_b")
    assert t.charge(30, 100) == 3915  # 935.25 yen + 100 kWh x 29.80 yen, floored
    assert _gone("tariff_spec") == []
    try:
        tariff.load(tariff={"tiers": []})
        raise AssertionError("no TariffError")
    except tariff.TariffError:
        pass
    assert _gone("tariff_spec") == []  # also after an error


def test_backlog_repair_code_is_dropped():
    p = _path("sm_heap_backlog")
    with open(p, "wb") as f:
        f.write(b'{"d1": 1.0}\n{"d1": 2.0}\ngarbage\n-1\n')
    b = ambient.Backlog(p)
    assert len(b) == 1 and b.peek(1) == [{"d1": 2.0}]
    lim = ambient.Limiter()
    lim.restore([None, 1, 1, 5, 5])
    assert lim.used_today(86400 + 10) == 5
    assert _gone("ambient_rare") == []


def test_other_screens_are_dropped_when_main_is_drawn():
    fb = Panel(160, 80)
    v = view.View()
    screens.draw(fb, v, "diagnostics")
    assert "screens_more" in sys.modules
    screens.draw(fb, v, "main")
    assert _gone("screens_more") == []


def test_session_start_up_code_is_dropped_once_joined():
    if harness is None:
        print("skipped: needs sim/ on sys.path")
        return
    import store

    log.set_sink(lambda line: None)
    try:
        world = harness.World()
        s = world.session(store.Store(_path("sm_heap_session.json")), reading_day=22)
        assert "session_setup" in sys.modules  # the start-up task runs from it
        assert world.run(s, 120000, lambda: s.reading is not None and s.period_kwh is not None)
        assert s.state == "ready"
        assert _gone("session_setup", "sk_setup", "session_rare") == []
        world.module.power_cycle()  # the module restarts: the session sets it up again
        assert world.run(s, 120000, lambda: s.state == "start" or s.state == "join")
        assert world.run(s, 120000, lambda: s.state == "ready")
        assert _gone("session_setup", "sk_setup", "session_rare") == []
        assert s.close(3000, world.clock.advance) in (True, False)
        assert s.state == "closed" and _gone("session_rare") == []
    finally:
        log.set_sink(print)
    assert bp35a1.DEFAULT_ID  # the simulator's credentials were used
