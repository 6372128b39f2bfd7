"""Screens: layout and formatting (plain asserts: run by pytest and on MicroPython).

CASES are also rendered by host_tests/test_render_mp.py on the MicroPython
webassembly build (real framebuf) and on CPython (host/canvas.py), and by
tools/screenshots.py: one list of representative and extreme states.
"""

from ui import draw, screens, view

try:
    import framebuf

    class Panel(framebuf.FrameBuffer):
        """A GS4_HMSB frame buffer that knows its size, like the panel drivers."""

        def __init__(self, width, height):
            self.buffer = bytearray(((width + 1) & ~1) * height // 2)
            super().__init__(self.buffer, width, height, framebuf.GS4_HMSB)
            self.width = width
            self.height = height

except ImportError:  # CPython
    from canvas import Canvas as Panel  # pyright: ignore[reportMissingImports]

SMALL = (160, 80)
LARGE = (240, 135)

_NORMAL = {
    "power_w": 1234,
    "current_r_da": 123,
    "current_t_da": 87,
    "contract_a": 40,
    "period_kwh": 234.5,
    "charge_yen": 7890,
    "period": (5, 22, 6, 21),
    "age_s": 8,
    "clock": 14 * 60 + 5,
    "today_wh": 3214,
    "link": "ok",
    "wifi": "ok",
    "ambient": "ok",
}


def _with(base, **changes):
    d = dict(base)
    d.update(changes)
    return d


_TODAY = [80 + 10 * (i % 5) for i in range(14)] + [300, 520, 410, 200, 180, 220, 350] + [None] * 27  # Wh
_TODAY[20] = None  # a missing half hour

_LARGEST = _with(
    _NORMAL,
    power_w=-9999,
    current_r_da=999,
    current_t_da=998,
    contract_a=60,
    period_kwh=99999,
    charge_yen=999999,
    period=(12, 22, 1, 21),
    age_s=86399,
    stale=True,
)
_DIAG = {
    "channel": 0x21,
    "pan_id": 0x8A2F,
    "lqi": 120,
    "version": "1.2.10",
    "uptime_s": 273600,
    "free_heap": 41234,
    "amb_ok": 99999,
    "amb_failed": 12345,
    "amb_buffered": 3000,
    "error": "Ambient: HTTP 500",
}
_PROBLEMS = [
    "contract_amperage: expected one of 10,15,20,30,40,50,60, got '55'",
    "ambient.interval: expected seconds >= 5, got 2",
    "board: expected one of m5stickc, m5stickc_plus, m5stickc_plus2, got 'm5stack'",
]
_SCAN = {"step": "scan", "status": "Scanning (2/4)", "progress": 40}
_REJECTED = {
    "step": "join",
    "status": "Join failed",
    "reason": "B-route ID rejected: check the ID and password",
}
_NO_METER = {
    "step": "scan",
    "status": "Scan done",
    "progress": 100,
    "reason": "no meter found: check the HAT and the ID",
}

_FORECAST = _with(_NORMAL, forecast_yen=12345, export_kwh=12.3)

# (name, screen, size, fields)
CASES = (
    ("normal", "main", SMALL, _NORMAL),
    ("export", "main", SMALL, _with(_NORMAL, power_w=-2480, current_r_da=124, current_t_da=126)),
    ("amber", "main", SMALL, _with(_NORMAL, power_w=5870, current_r_da=296, current_t_da=180)),
    ("red", "main", SMALL, _with(_NORMAL, power_w=7600, current_r_da=372, current_t_da=310)),
    ("stale", "main", SMALL, _with(_NORMAL, age_s=185, link="down", error="no answer from the meter")),
    (
        "no_clock",
        "main",
        SMALL,
        _with(_NORMAL, period=None, period_kwh=None, charge_yen=None, clock=None, today_wh=None, wifi="wait"),
    ),
    ("no_data", "main", SMALL, {"contract_a": 30}),
    ("largest", "main", SMALL, _LARGEST),
    ("largest_import", "main", SMALL, _with(_NORMAL, power_w=99949, period_kwh=999.9, charge_yen=99999)),
    ("w_999", "main", SMALL, _with(_NORMAL, power_w=-999, current_r_da=0, current_t_da=None)),
    ("export_signed", "main", SMALL, _with(_NORMAL, power_w=-1500, current_r_da=-52, current_t_da=-75)),
    ("links", "main", SMALL, _with(_NORMAL, link="join", wifi="down", ambient="off")),
    ("forecast", "main", SMALL, _FORECAST),
    ("forecast_odd", "main", SMALL, _with(_FORECAST, tick=1)),
    ("connecting", "connecting", SMALL, _SCAN),
    ("error", "connecting", SMALL, _REJECTED),
    ("no_meter", "connecting", SMALL, _NO_METER),
    ("today", "today", SMALL, {"today": _TODAY}),
    ("today_empty", "today", SMALL, {}),
    ("diagnostics", "diagnostics", SMALL, _DIAG),
    ("config_error", "config_error", SMALL, {"problems": _PROBLEMS}),
    ("config_error_p2", "config_error", SMALL, {"problems": _PROBLEMS, "page": 1}),
    ("plus_normal", "main", LARGE, _NORMAL),
    ("plus_largest", "main", LARGE, _LARGEST),
    ("plus_export", "main", LARGE, _with(_NORMAL, power_w=-2480)),
    ("plus_forecast", "main", LARGE, _FORECAST),
    ("plus_connecting", "connecting", LARGE, _NO_METER),
    ("plus_today", "today", LARGE, {"today": _TODAY}),
    ("plus_diagnostics", "diagnostics", LARGE, _DIAG),
    ("plus_config_error", "config_error", LARGE, {"problems": _PROBLEMS}),
)


def make_view(fields):
    v = view.View()
    for k in fields:
        setattr(v, k, fields[k])
    return v


def render(case, boxes=None):
    """Draw a case into a new Panel; returns it. boxes: a list to collect the drawn boxes."""
    _, screen, size, fields = case
    fb = Panel(size[0], size[1])
    draw.BOXES = boxes
    try:
        screens.draw(fb, make_view(fields), screen)
    finally:
        draw.BOXES = None
    return fb


def _overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_every_case_fits_without_clipping_or_overlap():
    for case in CASES:
        boxes = []
        fb = render(case, boxes)
        w, h = fb.width, fb.height
        assert boxes, case[0]
        for b in boxes:
            x, y, bw, bh, what = b[:5]
            assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h, (case[0], b)
            assert not b[5], (case[0], "clipped", what)
        texts = [b for b in boxes if b[4] != "step"]
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                assert not _overlap(texts[i], texts[j]), (case[0], texts[i][4], texts[j][4])


def _drawn(case):
    boxes = []
    render(case, boxes)
    return [b[4] for b in boxes]


def _case(name):
    for c in CASES:
        if c[0] == name:
            return c
    raise KeyError(name)


def _colours(fb):
    counts = [0] * 16
    for y in range(fb.height):
        for x in range(fb.width):
            counts[fb.pixel(x, y)] += 1
    return counts


def _rows_with(fb, colour, x0, x1, y0, y1):
    """How many rows of the box x0..x1-1, y0..y1-1 hold a pixel of colour."""
    n = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            if fb.pixel(x, y) == colour:
                n += 1
                break
    return n


def test_main_shows_every_figure_with_its_label():
    drawn = _drawn(_case("normal"))
    for s in ("5/22-6/21", " 234.5", "kWh", "14:05", "1.23", "kW", "8s ago", "12.3A/40A"):
        assert s in drawn, s
    for s in ("\u00a57,890", "est.", "today", "3.2kWh", "WiSUN", "WiFi", "Ambient"):
        assert s in drawn, s
    assert "STALE" not in drawn and "EXPORT" not in drawn
    assert drawn.count("\u2713") == 3  # a mark per link: readable without colour


def test_power_and_yen_digits_are_big():
    # 160x80 at 0.136 mm a pixel: power digits 32 px (4.3 mm), yen 18 px (2.4 mm) or more
    fb = render(_case("normal"))
    assert _rows_with(fb, draw.WHITE, 60, 150, 10, 44) >= 32
    assert _rows_with(fb, draw.YELLOW, 40, 140, 47, 70) >= 18
    fb = render(_case("plus_normal"))  # 240x135: 50 and 30 px
    assert _rows_with(fb, draw.WHITE, 90, 225, 13, 66) >= 50
    assert _rows_with(fb, draw.YELLOW, 60, 210, 68, 106) >= 30


def test_largest_values_are_drawn_whole():
    drawn = _drawn(_case("largest"))
    for s in ("-10.0", "12/22-1/21", " 99999", "\u00a5999,999", "STALE", "23h59m", "EXPORT"):
        assert s in drawn, s
    drawn = _drawn(_case("plus_largest"))
    for s in ("-10.0", " 99999", "\u00a5999,999", "STALE"):
        assert s in drawn, s
    drawn = _drawn(_case("largest_import"))
    for s in ("99.9", "kW", " 999.9", "\u00a599,999"):  # 99,949 W
        assert s in drawn, s


def test_unset_clock_shows_dashes():
    drawn = _drawn(_case("no_clock"))
    for s in ("--/--", " --", "--:--", "--", "--kWh", "WiFi", "\u2026"):
        assert s in drawn, s
    drawn = _drawn(_case("no_data"))
    assert drawn.count("--") == 2  # power and yen
    assert "--/--" in drawn and "--:--" in drawn and " --" in drawn


def test_stale_values_are_dimmed_and_marked():
    for name in ("stale", "largest"):
        fb = render(_case(name))
        counts = _colours(fb)
        for c in (draw.YELLOW, draw.CYAN):
            assert counts[c] == 0, (name, c)
        assert counts[draw.DIM] > 300 and counts[draw.AMBER] > 0
    drawn = _drawn(_case("stale"))
    assert "STALE" in drawn and "3m05s ago" in drawn and "no answer from the meter" in drawn
    counts = _colours(render(_case("normal")))
    assert counts[draw.WHITE] > 300 and counts[draw.DIM] == 0


def test_load_colour_by_the_larger_phase():
    assert _colours(render(_case("normal")))[draw.GREEN] > 50
    amber = _colours(render(_case("amber")))
    assert amber[draw.AMBER] > 50 and amber[draw.RED] == 0
    red = _colours(render(_case("red")))
    assert red[draw.RED] > 50
    assert draw.load_colour(419, 60) == draw.GREEN  # 69.8 %
    assert draw.load_colour(420, 60) == draw.AMBER  # 70 %
    assert draw.load_colour(539, 60) == draw.AMBER
    assert draw.load_colour(540, 60) == draw.RED  # 90 %
    assert draw.load_colour(None, 60) == draw.GREY


def test_load_bar_length():
    # 12.3 A of 40 A on 160 px: 49 px (12.3 / 40 * 160 = 49.2), at the row under the power
    fb = render(_case("normal"))
    assert fb.pixel(48, 44) == draw.GREEN and fb.pixel(49, 44) == draw.DARK


def test_signed_current_shows_the_larger_magnitude():
    drawn = _drawn(_case("export_signed"))
    assert "7.5A" in drawn and "-1.50" in drawn  # no room left of the digits for "/40A"
    assert _colours(render(_case("export_signed")))[draw.GREEN] > 50  # 7.5 A of 40 A


def test_export_has_its_own_colour():
    counts = _colours(render(_case("export")))
    assert counts[draw.CYAN] > 200
    drawn = _drawn(_case("export"))
    assert "EXPORT" in drawn and "-2.48" in drawn and "12.6A" in drawn


def test_status_line_without_colour():
    drawn = _drawn(_case("links"))
    assert "WiSUN" in drawn and "\u2026" in drawn  # joining: waiting
    assert "WiFi" in drawn and "\u2717" in drawn  # down
    assert "Ambient" not in drawn  # off: not in use, not shown


def test_forecast_and_export_take_turns_on_160x80():
    even = _drawn(_case("forecast"))
    assert "today" in even and "3.2kWh" in even and " 234.5" in even
    assert "end" not in even and "export " not in even
    odd = _drawn(_case("forecast_odd"))
    assert "end" in odd and "\u00a512,345" in odd and "export " in odd and "12.3" in odd
    assert "today" not in odd and " 234.5" not in odd and "5/22-6/21" not in odd
    plus = _drawn(_case("plus_forecast"))  # 240x135: room for both
    for s in ("today", "3.2kWh", " 234.5", "export ", "12.3kWh", "end ", "\u00a512,345"):
        assert s in plus, s


def test_number_formats():
    assert draw.power_text(None) == ("--", "W")
    assert draw.power_text(0) == ("0", "W")
    assert draw.power_text(-999) == ("-999", "W")
    assert draw.power_text(999) == ("999", "W")
    assert draw.power_text(1000) == ("1.00", "kW")
    assert draw.power_text(1234) == ("1.23", "kW")
    assert draw.power_text(1235) == ("1.24", "kW")
    assert draw.power_text(9994) == ("9.99", "kW")
    assert draw.power_text(9995) == ("10.0", "kW")
    assert draw.power_text(-9999) == ("-10.0", "kW")
    assert draw.power_text(12345) == ("12.3", "kW")
    assert draw.amps_text(999) == "99.9" and draw.amps_text(5) == "0.5"
    assert draw.amps_text(-52) == "-5.2" and draw.amps_text(None) == "--"
    assert draw.kwh_text(0.04) == "0.0" and draw.kwh_text(234.56) == "234.6"
    assert draw.kwh_text(999.96) == "1000" and draw.kwh_text(99999) == "99999"
    assert draw.wh_text(3214) == "3.21" and draw.wh_text(5) == "0.01" and draw.wh_text(0) == "0.00"
    assert draw.yen_text(0) == "0" and draw.yen_text(999) == "999"
    assert draw.yen_text(1000) == "1,000" and draw.yen_text(999999) == "999,999"
    assert draw.yen_text(-1234567) == "-1,234,567"
    assert draw.duration_text(59) == "59s" and draw.duration_text(61) == "1m01s"
    assert draw.duration_text(3600 * 5 + 60 * 7) == "5h07m"
    assert draw.duration_text(86400 * 2 + 3600 * 4) == "2d04h"


def test_wrap():
    assert draw.wrap("no meter found: check the HAT", 16) == ["no meter found:", "check the HAT"]
    assert draw.wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert draw.wrap("", 5) == [""]


def test_stale_rule():
    v = view.View()
    assert not v.is_stale()  # no reading yet: shown as "--", not as stale
    v.age_s = view.STALE_S
    assert not v.is_stale()
    v.age_s = view.STALE_S + 1
    assert v.is_stale()
    v.stale = False
    assert not v.is_stale()


def test_config_error_pages_wrap_around():
    first = _drawn(_case("config_error"))
    second = _drawn(_case("config_error_p2"))
    assert "1/2" in first and "2/2" in second
    assert "- contract_amperage:" in first
    assert first != second
    again = render(("x", "config_error", SMALL, {"problems": _PROBLEMS, "page": 2}))
    assert bytes(again.buffer) == bytes(render(_case("config_error")).buffer)


def test_connecting_names_the_step_and_the_reason():
    drawn = _drawn(_case("error"))
    assert "Join" in drawn and "B-route ID rejected: check the ID and password" in " ".join(drawn)
    drawn = _drawn(_case("connecting"))
    assert "Scanning (2/4)" in drawn and "40%" in drawn


def test_today_chart_has_total_units_and_hour_axis():
    drawn = _drawn(_case("today"))
    # 80..120 Wh for 14 half hours (1,380 Wh), then 300 520 410 200 180 220 (1,830 Wh): 3.21 kWh
    for s in ("3.21", "today", "kWh", "peak 0.52", "kWh/30min", "0", "6", "12", "18", "24h"):
        assert s in drawn, s
    fb = render(_case("today"))
    # 160x80: bars from y 23 to the axis at y 67, 3 px a half hour from x 8; the 520 Wh peak
    # (half hour 15) is 44 px tall, 300 Wh (half hour 14) 25 px: 300 * 44 / 520 = 25.4
    assert fb.pixel(53, 23) == draw.BLUE and fb.pixel(53, 22) == draw.BLACK
    assert fb.pixel(50, 42) == draw.BLUE and fb.pixel(50, 41) == draw.BLACK
    assert fb.pixel(50, 66) == draw.BLUE and fb.pixel(52, 66) == draw.BLACK  # 1 px between bars
    assert fb.pixel(68, 66) == draw.BLACK  # half hour 20: no data
    assert fb.pixel(8, 67) == draw.GREY and fb.pixel(8, 68) == draw.GREY  # axis, tick at 0 h
    assert _colours(render(_case("today_empty")))[draw.BLUE] == 0
    assert "--" in _drawn(_case("today_empty")) and "no data" in _drawn(_case("today_empty"))
