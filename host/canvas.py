"""A pure-Python work-alike of MicroPython's framebuf, for the host, plus PNG and terminal output.

FrameBuffer implements what lib/screens.py uses, bit for bit like
extmod/modframebuf.c: GS4_HMSB buffers (fill, fill_rect, pixel, hline, vline,
rect, line, blit with key and palette) and, as blit sources, MONO_VLSB,
MONO_HLSB, MONO_HMSB and GS4_HMSB buffers, also in the (buffer, w, h, format[,
stride]) list form. Canvas adds width/height, PNG output (zlib + struct, no
Pillow) and a 24-bit colour terminal rendering with half-block characters.
"""

import struct
import zlib

MONO_VLSB = 0
RGB565 = 1
GS4_HMSB = 2
MONO_HLSB = 3
MONO_HMSB = 4


class FrameBuffer:
    """framebuf.FrameBuffer(buffer, width, height, format, stride=width) for GS4 and mono formats."""

    def __init__(self, buffer, width, height, format, stride=None):
        self._init(buffer, width, height, format, width if stride is None else stride)

    def _init(self, buffer, width, height, format, stride):
        if format in (MONO_HLSB, MONO_HMSB):
            stride = (stride + 7) & ~7
        elif format == GS4_HMSB:
            stride = (stride + 1) & ~1
        elif format != MONO_VLSB:
            raise ValueError("format %d not supported by the host canvas" % format)
        self._buf = buffer
        self._w = width
        self._h = height
        self._fmt = format
        self._stride = stride

    # -- per-format pixel access (no clipping, like the C helpers) --
    def _get(self, x, y):
        b = self._buf
        f = self._fmt
        if f == GS4_HMSB:
            v = b[(x + y * self._stride) >> 1]
            return v & 0x0F if x & 1 else v >> 4
        if f == MONO_VLSB:
            return (b[(y >> 3) * self._stride + x] >> (y & 7)) & 1
        shift = x & 7 if f == MONO_HMSB else 7 - (x & 7)
        return (b[(x + y * self._stride) >> 3] >> shift) & 1

    def _set(self, x, y, c):
        b = self._buf
        f = self._fmt
        if f == GS4_HMSB:
            i = (x + y * self._stride) >> 1
            if x & 1:
                b[i] = (c & 0x0F) | (b[i] & 0xF0)
            else:
                b[i] = ((c << 4) & 0xF0) | (b[i] & 0x0F)
        elif f == MONO_VLSB:
            i = (y >> 3) * self._stride + x
            bit = 1 << (y & 7)
            b[i] = (b[i] | bit) if c else (b[i] & ~bit)
        else:
            shift = x & 7 if f == MONO_HMSB else 7 - (x & 7)
            i = (x + y * self._stride) >> 3
            b[i] = (b[i] | (1 << shift)) if c else (b[i] & ~(1 << shift))

    def _rect(self, x, y, w, h, c):
        # fill_rect() in modframebuf.c: clip, then fill
        if h < 1 or w < 1 or x + w <= 0 or y + h <= 0 or y >= self._h or x >= self._w:
            return
        xend = min(self._w, x + w)
        yend = min(self._h, y + h)
        x = max(x, 0)
        y = max(y, 0)
        if self._fmt == GS4_HMSB:
            c &= 0x0F
            pair = (c << 4) | c
            b = self._buf
            for yy in range(y, yend):
                xx = x
                if xx & 1 and xx < xend:
                    self._set(xx, yy, c)
                    xx += 1
                n = (xend - xx) >> 1
                if n:
                    i = (xx + yy * self._stride) >> 1
                    b[i : i + n] = bytes((pair,)) * n
                    xx += 2 * n
                if xx < xend:
                    self._set(xx, yy, c)
        else:
            for yy in range(y, yend):
                for xx in range(x, xend):
                    self._set(xx, yy, c)

    # -- the framebuf API --
    def fill(self, c):
        self._rect(0, 0, self._w, self._h, c)

    def fill_rect(self, x, y, w, h, c):
        self._rect(x, y, w, h, c)

    def pixel(self, x, y, c=None):
        if 0 <= x < self._w and 0 <= y < self._h:
            if c is None:
                return self._get(x, y)
            self._set(x, y, c)
        return None

    def hline(self, x, y, w, c):
        self._rect(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self._rect(x, y, 1, h, c)

    def rect(self, x, y, w, h, c, f=False):
        if f:
            self._rect(x, y, w, h, c)
        else:
            self._rect(x, y, w, 1, c)
            self._rect(x, y + h - 1, w, 1, c)
            self._rect(x, y, 1, h, c)
            self._rect(x + w - 1, y, 1, h, c)

    def line(self, x1, y1, x2, y2, c):
        # Bresenham exactly as framebuf_line()
        dx = x2 - x1
        sx = 1 if dx > 0 else -1
        dx = abs(dx)
        dy = y2 - y1
        sy = 1 if dy > 0 else -1
        dy = abs(dy)
        steep = dy > dx
        if steep:
            x1, y1 = y1, x1
            dx, dy = dy, dx
            sx, sy = sy, sx
        e = 2 * dy - dx
        for _ in range(dx):
            if steep:
                if 0 <= y1 < self._w and 0 <= x1 < self._h:
                    self._set(y1, x1, c)
            elif 0 <= x1 < self._w and 0 <= y1 < self._h:
                self._set(x1, y1, c)
            while e >= 0:
                y1 += sy
                e -= 2 * dx
            x1 += sx
            e += 2 * dy
        if 0 <= x2 < self._w and 0 <= y2 < self._h:
            self._set(x2, y2, c)

    def blit(self, src, x, y, key=-1, palette=None):
        if not isinstance(src, FrameBuffer):  # (buffer, width, height, format[, stride])
            spec = list(src)
            if not 4 <= len(spec) <= 5:
                raise ValueError("blit source")
            tmp = FrameBuffer.__new__(FrameBuffer)
            tmp._init(spec[0], spec[1], spec[2], spec[3], spec[4] if len(spec) == 5 else spec[1])
            src = tmp
        if x >= self._w or y >= self._h or -x >= src._w or -y >= src._h:
            return
        x0 = max(0, x)
        y0 = max(0, y)
        x1 = max(0, -x)
        y1 = max(0, -y)
        x0end = min(self._w, x + src._w)
        y0end = min(self._h, y + src._h)
        while y0 < y0end:
            cx1 = x1
            for cx0 in range(x0, x0end):
                col = src._get(cx1, y1)
                if palette is not None:
                    col = palette._get(col, 0)
                if col != key:
                    self._set(cx0, y0, col)
                cx1 += 1
            y1 += 1
            y0 += 1


class Canvas(FrameBuffer):
    """A GS4_HMSB frame buffer of width x height with its size as attributes (like the drivers)."""

    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.buffer = bytearray(((width + 1) & ~1) * height // 2)
        super().__init__(self.buffer, width, height, GS4_HMSB)

    def index(self, x, y):
        """Palette index at (x, y)."""
        return self._get(x, y)

    def rows(self):
        """Palette indexes, one list per row."""
        return [[self._get(x, y) for x in range(self.width)] for y in range(self.height)]

    def to_png(self, path, palette, scale=1):
        """Write an indexed-colour PNG; palette: 16 x 0xRRGGBB; each pixel becomes scale x scale."""
        raw = bytearray()
        for row in self.rows():
            line = bytearray([0])  # filter: none
            for v in row:
                line += bytes((v,)) * scale
            for _ in range(scale):
                raw += line
        plte = b"".join(struct.pack(">I", c)[1:] for c in palette)

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        head = struct.pack(">IIBBBBB", self.width * scale, self.height * scale, 8, 3, 0, 0, 0)
        png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"PLTE", plte)
        png += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
        with open(path, "wb") as f:
            f.write(png)

    def to_ansi(self, palette):
        """The picture as text: one line per two pixel rows, upper half block, 24-bit colour."""
        rows = self.rows()
        if len(rows) % 2:
            rows.append([0] * self.width)
        out = []
        for y in range(0, len(rows), 2):
            parts = []
            last = None
            for top, bottom in zip(rows[y], rows[y + 1], strict=True):
                pair = (top, bottom)
                if pair != last:
                    t = palette[top]
                    b = palette[bottom]
                    parts.append(
                        "\x1b[38;2;%d;%d;%dm\x1b[48;2;%d;%d;%dm"
                        % (t >> 16, (t >> 8) & 255, t & 255, b >> 16, (b >> 8) & 255, b & 255)
                    )
                    last = pair
                parts.append("\u2580")
            out.append("".join(parts) + "\x1b[0m")
        return "\n".join(out)
