"""The screens: draw(fb, view, name) for "main", "connecting", "today", "diagnostics", "config_error".

Draws through the FrameBuffer interface only (fill, fill_rect, hline, vline,
blit), in palette indexes 0-15 (a GS4_HMSB buffer); the panel driver or the
host canvas turns them into colours with PALETTE. fb must carry its size as
fb.width and fb.height (the drivers and host/canvas.py do): 160x80 uses the
small layout, 240x135 and larger the large one.

Text uses the generated bitmap fonts (lib/font_*.py): glyph columns are copied
into one preallocated MONO_VLSB line buffer and blitted with a two-colour
palette, so a redraw allocates only the short strings it formats.

The main screen is drawn here; the others (connecting, today, diagnostics,
config_error) by lib/ui/screens_more.py, imported when one of them is drawn
and dropped from sys.modules when main is drawn again (heap on the device).
"""

import lazy

try:
    import framebuf
except ImportError:  # CPython: host/canvas.py is a framebuf work-alike
    import canvas as framebuf  # pyright: ignore[reportMissingImports]
try:
    from micropython import const
except ImportError:
    const = int  # CPython: const(1) == 1


# Palette index -> 0xRRGGBB. The panel driver converts it to RGB565; PNG and terminal use it as is.
PALETTE = (
    0x000000,  # 0 background
    0xFFFFFF,  # 1 white: values
    0x9A9A9A,  # 2 grey: labels, units
    0x383838,  # 3 dark: bar background
    0x30D158,  # 4 green: load < 70 %, status ok
    0xFFB020,  # 5 amber: load >= 70 %, stale, waiting
    0xFF453A,  # 6 red: load >= 90 %, errors
    0x40C8FF,  # 7 cyan: export
    0x3C82FF,  # 8 blue: chart bars
    0xFFD84A,  # 9 yellow: yen
    0x626262,  # 10 dim: stale values, steps to come
    0x1E3C64,  # 11 navy: the current step
    0x000000,
    0x000000,
    0x000000,
    0x000000,
)
BLACK = const(0)
WHITE = const(1)
GREY = const(2)
DARK = const(3)
GREEN = const(4)
AMBER = const(5)
RED = const(6)
CYAN = const(7)
BLUE = const(8)
YELLOW = const(9)
DIM = const(10)
NAVY = const(11)

BOXES = None  # a list: every text and bar drawn is appended as (x, y, w, h, what, clipped)

_MORE = ("connecting", "today", "diagnostics", "config_error")  # drawn by lib/ui/screens_more.py

# The panel's layout, set by _setup(): size, fonts (small text, medium and big digits),
# rows (y = top of a font cell) and the line buffer for text.
_W = _H = 0
_S = _M = _B = None
_BAR_Y = _BAR_H = _CUR_Y = _KWH_Y = 0
_buf = bytearray(0)  # MONO_VLSB, _W columns, as many pages as the tallest font
_spec = [_buf, 0, 0, framebuf.MONO_VLSB, 0]  # blit source: (buffer, width, height, format, stride)
_pal = framebuf.FrameBuffer(bytearray(1), 2, 1, framebuf.GS4_HMSB)  # 0 -> key (transparent), 1 -> colour


def _setup(w, h):
    global _W, _H, _S, _M, _B, _BAR_Y, _BAR_H, _CUR_Y, _KWH_Y, _buf
    _buf = _spec[0] = bytearray(0)  # let the old line buffer go first
    if w >= 240 and h >= 120:
        names, rows = ("font_7x13b", "font_d22", "font_d44"), (48, 3, 56, 86)
    else:
        names, rows = ("font_6x10", "font_d14", "font_d26"), (28, 2, 32, 50)
    _S, _M, _B = lazy.load("ui." + names[0]), lazy.load("ui." + names[1]), lazy.load("ui." + names[2])
    _BAR_Y, _BAR_H, _CUR_Y, _KWH_Y = rows
    _buf = _spec[0] = bytearray(w * ((max(_S.HEIGHT, _M.HEIGHT, _B.HEIGHT) + 7) >> 3))
    _W, _H = w, h


def width(font, s):
    """Width of s in px."""
    chars = font.CHARS
    ws = font.WIDTHS
    w = 0
    for ch in s:
        i = chars.find(ch)
        w += ws[i if i >= 0 else 0]  # unknown characters: a space
    return w


def text(fb, font, s, x, y, c, maxw=0):
    """Draw s with its cell's top-left at (x, y) in colour c, at most maxw px wide; returns the end x."""
    buf = _buf
    stride = _W
    limit = stride if maxw <= 0 or maxw > stride else maxw
    pages = (font.HEIGHT + 7) >> 3
    chars = font.CHARS
    ws = font.WIDTHS
    offs = font.OFFSETS
    data = font.DATA
    w = 0
    clipped = False
    for ch in s:
        i = chars.find(ch)
        if i < 0:
            i = 0
        end = w + ws[i]
        if end > limit:
            clipped = True
            break
        o = offs[2 * i] | (offs[2 * i + 1] << 8) if offs else i * ws[i] * pages  # None: monospace
        while w < end:
            k = w
            for _ in range(pages):
                buf[k] = data[o]
                k += stride
                o += 1
            w += 1
    if w:
        spec = _spec
        spec[1] = w
        spec[2] = font.HEIGHT
        spec[4] = stride
        key = (c + 1) & 15
        _pal.pixel(0, 0, key)
        _pal.pixel(1, 0, c)
        fb.blit(spec, x, y, key, _pal)
        if BOXES is not None:
            bottom = font.BASELINE
            for ch in s:
                if ch in "gjpqy,;_()[]{}|$@Q":  # ink below the baseline
                    bottom = font.HEIGHT
            BOXES.append((x, y + font.TOP, w, bottom - font.TOP, s, clipped))
    return x + w


def _bar(fb, x, y, w, h, c, what="bar"):
    fb.fill_rect(x, y, w, h, c)
    if BOXES is not None:
        BOXES.append((x, y, w, h, what, False))


def _right(fb, font, s, xr, y, c):
    """Draw s ending at xr (exclusive); returns the start x."""
    x = xr - width(font, s)
    text(fb, font, s, x, y, c)
    return x


# -- numbers (integer arithmetic: the same digits on the device and the host) --


def _group(n):
    """1234567 -> '1,234,567'."""
    s = "%d" % (-n if n < 0 else n)
    out = s[-3:]
    s = s[:-3]
    while s:
        out = s[-3:] + "," + out
        s = s[:-3]
    return "-" + out if n < 0 else out


def power_text(w):
    """W -> (number, unit): '-999' W, '1.23' kW from 1,000 W, '10.0' kW from 9,995 W."""
    if w is None:
        return "--", "W"
    a = -w if w < 0 else w
    if a < 1000:
        return "%d" % w, "W"
    sign = "-" if w < 0 else ""
    if a < 9995:
        h = (a + 5) // 10
        return "%s%d.%02d" % (sign, h // 100, h % 100), "kW"
    t = (a + 50) // 100
    return "%s%d.%d" % (sign, t // 10, t % 10), "kW"


def amps_text(da):
    """0.1 A -> '12.3' ('-5.2' when negative)."""
    if da is None:
        return "--"
    a = -da if da < 0 else da
    return "%s%d.%d" % ("-" if da < 0 else "", a // 10, a % 10)


def kwh_text(v):
    """kWh -> '123.4' below 1,000, '12345' from there."""
    if v is None:
        return "--"
    if v < 999.95:
        t = int(v * 10 + 0.5)
        return "%d.%d" % (t // 10, t % 10)
    return "%d" % int(v + 0.5)


def yen_text(v):
    """yen -> '12,345'."""
    return "--" if v is None else _group(int(v))


def duration_text(s):
    """s -> '45s', '12m05s', '3h07m', '2d04h'."""
    s = int(s)
    if s < 60:
        return "%ds" % s
    if s < 3600:
        return "%dm%02ds" % (s // 60, s % 60)
    if s < 86400:
        return "%dh%02dm" % (s // 3600, s % 3600 // 60)
    return "%dd%02dh" % (s // 86400, s % 86400 // 3600)


def load_colour(da, contract_a):
    """Colour for a current (0.1 A) against the contract (A): green, amber from 70 %, red from 90 %."""
    if da is None or not contract_a:
        return GREY
    pct = da * 10 // contract_a
    return RED if pct >= 90 else AMBER if pct >= 70 else GREEN


def status_colour(word):
    if word == "ok":
        return GREEN
    if word is None or word == "off":
        return DIM
    if word in ("down", "fail", "failed", "error"):
        return RED
    return AMBER


def wrap(s, n):
    """Lines of at most n characters, broken at spaces where possible."""
    out = []
    for para in str(s).split("\n"):
        while len(para) > n:
            cut = para.rfind(" ", 0, n + 1)
            if cut <= 0:
                cut = n
            out.append(para[:cut])
            para = para[cut:].lstrip()
        out.append(para)
    return out


# -- screens --


def draw(fb, view, name="main"):
    """Draw screen name ("main", "connecting", "today", "diagnostics", "config_error") of view into fb."""
    if fb.width != _W or fb.height != _H:
        _setup(fb.width, fb.height)
    fb.fill(BLACK)
    if name in _MORE:
        lazy.load("ui.screens_more").draw(fb, view, name)
    else:
        lazy.drop("ui.screens_more")  # back on main: free the other screens' bytecode
        _main(fb, view, _S, _M, _B)


def _main(fb, v, small, mid, big):
    w = _W
    stale = v.is_stale()
    # the phase the breaker minds: the larger magnitude (meters sign the current on export)
    da = None
    for x in (v.current_r_da, v.current_t_da):
        if x is not None:
            x = -x if x < 0 else x
            if da is None or x > da:
                da = x
    load = DIM if stale else load_colour(da, v.contract_a)

    # power: big digits right-aligned, the unit on their baseline
    num, unit = power_text(v.power_w)
    export = v.power_w is not None and v.power_w < 0
    ux = w - width(small, unit)
    text(fb, small, unit, ux, big.BASELINE - small.BASELINE, CYAN if export and not stale else GREY)
    c = DIM if stale or v.power_w is None else CYAN if export else WHITE
    x0 = _right(fb, big, num, ux - 2, 0, c)

    # tags left of the power: stale, export, age of the reading
    y = 0
    if stale:
        text(fb, small, "STALE", 0, y, AMBER, x0 - 2)
        y += small.HEIGHT
    if export:
        text(fb, small, "EXPORT", 0, y, GREY if stale else CYAN, x0 - 2)
        y += small.HEIGHT
    if v.age_s is not None and y + small.BASELINE <= _BAR_Y:
        text(fb, small, duration_text(v.age_s), 0, y, AMBER if stale else GREY, x0 - 2)

    # load bar: the larger phase against the contract
    _bar(fb, 0, _BAR_Y, w, _BAR_H, DARK, "load")
    if da is not None and v.contract_a:
        fb.fill_rect(0, _BAR_Y, min(w, da * w // (v.contract_a * 10)), _BAR_H, load)

    # current and contract; the billing period on the right
    uy = _CUR_Y + mid.BASELINE - small.BASELINE
    x = text(fb, mid, amps_text(da), 0, _CUR_Y, load)
    text(fb, small, "A/%dA" % v.contract_a, x + 1, uy, GREY)
    _right(fb, small, "--/--" if v.period is None else "%02d/%02d-%02d/%02d" % v.period, w, uy, GREY)

    # kWh since the meter-reading day, charge in yen
    uy = _KWH_Y + mid.BASELINE - small.BASELINE
    x = text(fb, mid, kwh_text(v.period_kwh), 0, _KWH_Y, DIM if stale else WHITE)
    text(fb, small, "kWh", x + 1, uy, GREY)
    x = _right(fb, mid, yen_text(v.charge_yen), w, _KWH_Y, DIM if stale else YELLOW)
    _right(fb, small, "\u00a5", x - 1, uy, GREY)

    # status line: the last error, else Wi-SUN, Wi-Fi and Ambient coloured by their state
    y = _H - small.HEIGHT
    if v.error:
        text(fb, small, v.error, 0, y, RED)
    else:
        gap = small.WIDTHS[0]
        x = text(fb, small, "WiSUN", 0, y, status_colour(v.link)) + gap
        x = text(fb, small, "WiFi", x, y, status_colour(v.wifi)) + gap
        text(fb, small, "Ambient", x, y, status_colour(v.ambient))
