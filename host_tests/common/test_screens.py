"""Screens: layout and formatting (plain asserts: run by pytest and on MicroPython).

CASES are also rendered by host_tests/test_render_mp.py on the MicroPython
webassembly build (real framebuf) and on CPython (host/canvas.py), and by
tools/screenshots.py: one list of representative and extreme states.
"""

from ui import screens
from ui import view

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

# (name, screen, size, fields)
CASES = (
    ("normal", "main", SMALL, _NORMAL),
    ("export", "main", SMALL, _with(_NORMAL, power_w=-2480, current_r_da=124, current_t_da=126)),
    ("amber", "main", SMALL, _with(_NORMAL, power_w=5870, current_r_da=296, current_t_da=180)),
    ("red", "main", SMALL, _with(_NORMAL, power_w=7600, current_r_da=372, current_t_da=310)),
    ("stale", "main", SMALL, _with(_NORMAL, age_s=185, link="down", error="no answer from the meter")),
    ("no_clock", "main", SMALL, _with(_NORMAL, period=None, period_kwh=None, charge_yen=None, wifi="wait")),
    ("no_data", "main", SMALL, {"contract_a": 30}),
    ("largest", "main", SMALL, _LARGEST),
    ("largest_import", "main", SMALL, _with(_NORMAL, power_w=99949, period_kwh=999.9, charge_yen=99999)),
    ("w_999", "main", SMALL, _with(_NORMAL, power_w=-999, current_r_da=0, current_t_da=None)),
    ("export_signed", "main", SMALL, _with(_NORMAL, power_w=-1500, current_r_da=-52, current_t_da=-75)),
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
    screens.BOXES = boxes
    try:
        screens.draw(fb, make_view(fields), screen)
    finally:
        screens.BOXES = None
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


def test_main_shows_the_numbers():
    drawn = _drawn(_case("normal"))
    for s in ("1.23", "kW", "12.3", "A/40A", "05/22-06/21", "234.5", "kWh", "7,890", "8s"):
        assert s in drawn, s
    assert "STALE" not in drawn


def test_largest_values_are_drawn_whole():
    drawn = _drawn(_case("largest"))
    for s in ("-10.0", "99.9", "A/60A", "99999", "999,999", "STALE", "EXPORT", "12/22-01/21"):
        assert s in drawn, s
    drawn = _drawn(_case("plus_largest"))
    for s in ("-10.0", "99999", "999,999", "STALE"):
        assert s in drawn, s


def test_unset_clock_shows_dashes():
    drawn = _drawn(_case("no_clock"))
    assert "--/--" in drawn and drawn.count("--") == 2  # kWh and yen
    drawn = _drawn(_case("no_data"))
    assert drawn.count("--") == 4  # power, current, kWh, yen


def test_stale_values_are_dimmed():
    for name in ("stale", "largest"):
        fb = render(_case(name))
        counts = _colours(fb)
        for c in (screens.WHITE, screens.YELLOW, screens.CYAN):
            assert counts[c] == 0, (name, c)
        assert counts[screens.DIM] > 300 and counts[screens.AMBER] > 0
    counts = _colours(render(_case("normal")))
    assert counts[screens.WHITE] > 300 and counts[screens.DIM] == 0


def _colours(fb):
    counts = [0] * 16
    for y in range(fb.height):
        for x in range(fb.width):
            counts[fb.pixel(x, y)] += 1
    return counts


def test_load_colour_by_the_larger_phase():
    assert _colours(render(_case("normal")))[screens.GREEN] > 50
    amber = _colours(render(_case("amber")))
    assert amber[screens.AMBER] > 50 and amber[screens.RED] == 0
    red = _colours(render(_case("red")))
    assert red[screens.RED] > 50
    assert screens.load_colour(419, 60) == screens.GREEN  # 69.8 %
    assert screens.load_colour(420, 60) == screens.AMBER  # 70 %
    assert screens.load_colour(539, 60) == screens.AMBER
    assert screens.load_colour(540, 60) == screens.RED  # 90 %
    assert screens.load_colour(None, 60) == screens.GREY


def test_signed_current_shows_the_larger_magnitude():
    drawn = _drawn(_case("export_signed"))
    assert "7.5" in drawn and "-1.50" in drawn
    assert _colours(render(_case("export_signed")))[screens.GREEN] > 50  # 7.5 A of 40 A


def test_export_has_its_own_colour():
    counts = _colours(render(_case("export")))
    assert counts[screens.CYAN] > 200
    assert "EXPORT" in _drawn(_case("export")) and "-2.48" in _drawn(_case("export"))


def test_number_formats():
    assert screens.power_text(None) == ("--", "W")
    assert screens.power_text(0) == ("0", "W")
    assert screens.power_text(-999) == ("-999", "W")
    assert screens.power_text(999) == ("999", "W")
    assert screens.power_text(1000) == ("1.00", "kW")
    assert screens.power_text(1234) == ("1.23", "kW")
    assert screens.power_text(1235) == ("1.24", "kW")
    assert screens.power_text(9994) == ("9.99", "kW")
    assert screens.power_text(9995) == ("10.0", "kW")
    assert screens.power_text(-9999) == ("-10.0", "kW")
    assert screens.power_text(12345) == ("12.3", "kW")
    assert screens.amps_text(999) == "99.9" and screens.amps_text(5) == "0.5"
    assert screens.amps_text(-52) == "-5.2" and screens.amps_text(None) == "--"
    assert screens.kwh_text(0.04) == "0.0" and screens.kwh_text(234.56) == "234.6"
    assert screens.kwh_text(999.96) == "1000" and screens.kwh_text(99999) == "99999"
    assert screens.yen_text(0) == "0" and screens.yen_text(999) == "999"
    assert screens.yen_text(1000) == "1,000" and screens.yen_text(999999) == "999,999"
    assert screens.yen_text(-1234567) == "-1,234,567"
    assert screens.duration_text(59) == "59s" and screens.duration_text(61) == "1m01s"
    assert screens.duration_text(3600 * 5 + 60 * 7) == "5h07m"
    assert screens.duration_text(86400 * 2 + 3600 * 4) == "2d04h"


def test_wrap():
    assert screens.wrap("no meter found: check the HAT", 16) == ["no meter found:", "check the HAT"]
    assert screens.wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert screens.wrap("", 5) == [""]


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


def test_today_chart_has_bars_and_total():
    drawn = _drawn(_case("today"))
    total = 0
    for k in _TODAY:
        if k is not None:
            total += k  # Wh
    t = (total + 5) // 10  # 10 Wh
    assert "%d.%02d" % (t // 100, t % 100) in drawn
    assert "peak 0.52" in drawn
    assert _colours(render(_case("today")))[screens.BLUE] > 100
    assert _colours(render(_case("today_empty")))[screens.BLUE] == 0
