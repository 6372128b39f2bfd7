"""What every screen draws with: colours, the fonts in fonts.bin, text, bars and number formats.

Draws through the FrameBuffer interface only (fill_rect, blit, ...) in palette
indexes 0-15 (a GS4_HMSB buffer); the panel driver or the host canvas turns
them into colours with PALETTE. setup(w, h) picks the layout for the panel
size: 160x80 the small one, 240x135 and larger the large one.

Glyphs stay on flash in fonts.bin (tools/gen_font.py writes it next to this
module): a Font keeps its metrics and characters in RAM, and text() reads
each glyph with readinto() into one preallocated buffer and blits it from
there with a two-colour palette. The file stays open (littlefs: ~250 B), so a
redraw allocates only the short strings it formats.
"""

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

# The layout, set by setup(): panel size and fonts (S small text, P power digits, N numbers).
W = H = 0
S = P = N = None
# The panel rows being drawn, [Y0, Y1): all of them, or a band (lib/ui/screens.py draw()).
Y0 = Y1 = 0
_file = None
_buf = bytearray(0)  # the glyph being drawn: MONO_VLSB, its own width as stride
_spec = [_buf, 0, 0, framebuf.MONO_VLSB, 0]  # blit source: (buffer, width, height, format, stride)
_pal = framebuf.FrameBuffer(bytearray(1), 2, 1, framebuf.GS4_HMSB)  # 0 -> key (transparent), 1 -> colour


class Font:
    """One font of fonts.bin: height, baseline and first inked row (px), chars, widths (px)."""

    mv: memoryview  # a view of the glyph buffer, rec bytes: set by setup()

    def __init__(self, f, name):
        f.seek(4)
        n = f.read(1)[0]
        at = -1
        for _ in range(n):
            entry = f.read(12)
            if entry[: len(name)] == name and (len(name) == 8 or entry[len(name)] == 0):
                at = int.from_bytes(entry[8:12], "little")
        if at < 0:
            raise OSError("no font " + name.decode())
        f.seek(at)
        h = f.read(8)
        self.height, self.baseline, self.top = h[0], h[1], h[2]
        self.chars = f.read(h[6]).decode()
        self.widths = f.read(h[4])
        self.data = at + 8 + h[6] + h[4]  # file offset of glyph 0
        self.rec = h[5] * ((h[0] + 7) >> 3)  # bytes per glyph record


def setup(w, h):
    """Open fonts.bin and load the fonts of the layout for a w x h panel."""
    global W, H, S, P, N, Y0, Y1, _file, _buf
    if _file is None:  # fonts.bin next to this module
        f = __file__
        _file = open(f[: max(f.rfind("/"), f.rfind("\\")) + 1] + "fonts.bin", "rb")
    if w >= 240 and h >= 120:
        names = (b"7x13b", b"p50", b"n30")
    else:
        names = (b"6x10", b"p32", b"n18")
    S = P = N = None
    S, P, N = Font(_file, names[0]), Font(_file, names[1]), Font(_file, names[2])
    _buf = _spec[0] = bytearray(0)  # let the old buffer go first
    _buf = _spec[0] = bytearray(max(S.rec, P.rec, N.rec))
    for font in (S, P, N):
        font.mv = memoryview(_buf)[: font.rec]
    W, H = w, h
    Y0, Y1 = 0, h


def shows(y, h):
    """True when rows [y, y + h) meet the rows being drawn (a screen may skip what does not)."""
    return y < Y1 and y + h > Y0


def width(font, s):
    """Width of s in px."""
    chars = font.chars
    ws = font.widths
    w = 0
    for ch in s:
        i = chars.find(ch)
        w += ws[i if i >= 0 else 0]  # unknown characters: a space
    return w


def text(fb, font, s, x, y, c, maxw=0):
    """Draw s with its cell's top-left at (x, y) in colour c, at most maxw px wide; returns the end x."""
    limit = x + (W - x if maxw <= 0 else maxw)
    if limit > W:
        limit = W
    key = (c + 1) & 15
    _pal.pixel(0, 0, key)
    _pal.pixel(1, 0, c)
    f = _file
    assert f is not None  # setup() opened it (mpy-cross -O3 leaves asserts out)
    spec = _spec
    spec[2] = font.height
    chars = font.chars
    ws = font.widths
    data = font.data
    rec = font.rec
    mv = font.mv
    x0 = x
    clipped = False
    seen = y < Y1 and y + font.height > Y0  # else only the end x is wanted: no glyph read
    for ch in s:
        i = chars.find(ch)
        if i < 0:
            i = 0
        w = ws[i]
        if x + w > limit:
            clipped = True
            break
        if i and seen:  # glyph 0 is the space: nothing to draw
            f.seek(data + i * rec)
            f.readinto(mv)
            spec[1] = spec[4] = w
            fb.blit(spec, x, y, key, _pal)
        x += w
    if BOXES is not None and x > x0:
        bottom = font.baseline
        for ch in s:
            if ch in "gjpqy,;_()[]{}|$@Q":  # ink below the baseline
                bottom = font.height
        BOXES.append((x0, y + font.top, x - x0, bottom - font.top, s, clipped))
    return x


def right(fb, font, s, xr, y, c):
    """Draw s ending at xr (exclusive); returns the start x."""
    x = xr - width(font, s)
    text(fb, font, s, x, y, c)
    return x


def bar(fb, x, y, w, h, c, what="bar"):
    """A filled rectangle (recorded in BOXES as what)."""
    fb.fill_rect(x, y, w, h, c)
    if BOXES is not None:
        BOXES.append((x, y, w, h, what, False))


# -- numbers (integer arithmetic: the same digits on the device and the host) --


def group(n):
    """1234567 -> '1,234,567'."""
    if -1000 < n < 1000:
        return "%d" % n
    a = -n if n < 0 else n
    return group(n // 1000 if n > 0 else -(a // 1000)) + ",%03d" % (a % 1000)


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


def wh_text(wh):
    """Wh -> kWh with two decimals: 3214 -> '3.21'."""
    t = (wh + 5) // 10
    return "%d.%02d" % (t // 100, t % 100)


def yen_text(v):
    """yen -> '12,345'."""
    return "--" if v is None else group(int(v))


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
