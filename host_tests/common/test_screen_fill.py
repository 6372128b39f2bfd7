"""lib/ui fill functions against an App with a scripted session: what each screen is handed,
today's chart never showing another day, and only the screen on display imported.

Plain asserts on CPython (pytest) and MicroPython (tools/mptest.py).
"""

import sys

from test_app_loop import T0, Net, build, make_cfg, run
from testkit import fill_view, tmpdir

try:
    import framebuf

    class Panel(framebuf.FrameBuffer):
        def __init__(self, width, height):
            self.buffer = bytearray(width * height // 2)
            super().__init__(self.buffer, width, height, framebuf.GS4_HMSB)
            self.width = width
            self.height = height

except ImportError:  # CPython
    from canvas import Canvas as Panel  # pyright: ignore[reportMissingImports]

HALVES = [100, 200, 300] + [None] * 45  # Wh: 00:00-01:30


def test_main_gets_clock_period_today_and_status():
    a, clock, session, http = build(tmpdir(), network=Net())
    session.today = (2026, 1, 1, HALVES)  # T0 is 2026-01-01 09:00 Japan time
    run(a, clock, 12)
    v = fill_view(a)
    assert v.clock == 9 * 60  # 09:00 local (UTC+9)
    assert v.period == (12, 22, 1, 21)  # reading day 22
    assert v.today_wh == 600 and v.today == HALVES
    assert v.power_w == 1234 and v.contract_a == 40 and v.age_s is not None and v.age_s < 10
    assert (v.link, v.wifi, v.ambient, v.error) == ("ok", "ok", "ok", None)
    assert v.tick == a.draws


def test_today_is_never_another_days_chart():
    a, clock, session, http = build(tmpdir())
    session.today = (2026, 1, 1, HALVES)
    run(a, clock, 12)
    asked = session.today_requests
    assert fill_view(a).today_wh == 600
    assert session.today_requests > asked  # the screens keep asking: the session fetches every 30 min
    clock.set_wall(T0 + 15 * 3600 + 60)  # 2026-01-02 00:01 Japan time: the session still holds the 1st
    v = fill_view(a)
    assert v.today is None and v.today_wh is None  # not yesterday's figures as "today"
    session.today = (2026, 1, 2, [40] + [None] * 47)  # the fresh fetch
    run(a, clock, 10)  # and a reading: the App's half-hourly prices learn the new day
    v = fill_view(a)
    assert v.today_wh == 40 and v.today[0] == 40
    clock.clear_wall()
    assert fill_view(a).today is None  # no clock: no day to trust


def test_status_line_words_and_the_error_that_matters():
    net = Net()
    a, clock, session, http = build(tmpdir(), network=net)
    run(a, clock, 12)
    net.up = False
    run(a, clock, 1)
    session.state, session.error = "join", "no answer from the meter"
    v = fill_view(a)
    assert (v.link, v.wifi, v.error) == ("join", "down", "no answer from the meter")
    session.state, session.error = "ready", None
    a.last_error = "clock: timed out"
    v = fill_view(a)  # main shows no error; diagnostics shows the last one of any part
    assert v.error is None


def test_diagnostics_and_connecting_fields():
    cfg = make_cfg()
    cfg["ambient"] = None
    a, clock, session, http = build(tmpdir(), cfg=cfg, mem_free=lambda: 41234)
    session.live = False
    session.state, session.status, session.progress = "scan", "Scanning (2/4)", 40
    run(a, clock, 3)
    v = fill_view(a)
    assert (v.step, v.status, v.progress, v.reason) == ("scan", "Scanning (2/4)", 40, None)
    assert v.free_heap == 41234 and v.channel == 0x21 and v.ambient == "off" and v.amb_ok == 0
    session.state, session.error = "failed", "B-route ID rejected"
    v = fill_view(a)
    assert v.step == "read" and v.reason == "B-route ID rejected" and v.progress is None


def test_only_the_screen_on_display_is_imported():
    presses = []
    a, clock, session, http = build(tmpdir(), buttons=lambda: presses.pop() if presses else None)
    a.fb = Panel(160, 80)
    run(a, clock, 12)
    assert a.draws >= 1 and "ui.main" in sys.modules and "ui.today" not in sys.modules
    presses.append("b")
    run(a, clock, 1)
    assert a.screen == "today" and "ui.today" in sys.modules and "ui.main" not in sys.modules
    presses.append("b")
    run(a, clock, 1)
    assert "ui.diagnostics" in sys.modules and "ui.today" not in sys.modules
