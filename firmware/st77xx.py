"""ST7735S (M5StickC, 80x160) and ST7789v2 (M5StickC Plus/Plus2, 135x240) LCD panels.

A panel is a framebuf.FrameBuffer in GS4_HMSB (16 palette colours) of its
width and buffer_rows rows: the whole panel (160x80 = 6,400 bytes, 240x135 =
16,200 bytes) or a band of it (buffer_rows < height: 160x10 = 800 bytes). A band
panel is drawn band by band (lib/ui/screens.py draw): `top` says which panel
row the frame buffer's first row is, and fill_rect, hline, vline, rect and
blit take panel rows (y - top in the frame buffer; what falls outside the band
is clipped). show() converts the frame buffer into RGB565 a few rows at a time
with FrameBuffer.blit(..., palette) (in C) and streams them over SPI to rows
top.. of the panel, so no RGB565 frame is ever held. All buffers are allocated
in the constructor; show() and the drawing methods allocate nothing.

The pins, offsets and MADCTL values come from board.py.
"""

import time

import framebuf
from micropython import const

_CASET = const(0x2A)
_RASET = const(0x2B)
_RAMWR = const(0x2C)
_MADCTL = const(0x36)

# Init sequences: command, argument count (| 0x80: a delay in ms follows the arguments), arguments.
# ST7735S with the 0.96" 80x160 IPS panel (M5StickC): frame rate, power, VCOM, gamma, inversion on.
ST7735S_INIT = (
    b"\x01\x80\x96"  # SWRESET, 150 ms
    b"\x11\x80\xff"  # SLPOUT, 255 ms
    b"\xb1\x03\x01\x2c\x2d"  # FRMCTR1
    b"\xb2\x03\x01\x2c\x2d"  # FRMCTR2
    b"\xb3\x06\x01\x2c\x2d\x01\x2c\x2d"  # FRMCTR3
    b"\xb4\x01\x07"  # INVCTR
    b"\xc0\x03\xa2\x02\x84"  # PWCTR1
    b"\xc1\x01\xc5"  # PWCTR2
    b"\xc2\x02\x0a\x00"  # PWCTR3
    b"\xc3\x02\x8a\x2a"  # PWCTR4
    b"\xc4\x02\x8a\xee"  # PWCTR5
    b"\xc5\x01\x0e"  # VMCTR1
    b"\x21\x00"  # INVON
    b"\x3a\x01\x05"  # COLMOD: 16 bits per pixel
    b"\xe0\x10\x02\x1c\x07\x12\x37\x32\x29\x2d\x29\x25\x2b\x39\x00\x01\x03\x10"  # GMCTRP1
    b"\xe1\x10\x03\x1d\x07\x06\x2e\x2c\x29\x2d\x2e\x2e\x37\x3f\x00\x00\x02\x10"  # GMCTRN1
    b"\x13\x80\x0a"  # NORON, 10 ms
    b"\x29\x80\x64"  # DISPON, 100 ms
)

# ST7789v2 with the 1.14" 135x240 IPS panel (M5StickC Plus, Plus2).
ST7789_INIT = (
    b"\x01\x80\x96"  # SWRESET, 150 ms
    b"\x11\x80\x78"  # SLPOUT, 120 ms
    b"\x3a\x81\x55\x0a"  # COLMOD: 16 bits per pixel, 10 ms
    b"\xb2\x05\x0c\x0c\x00\x33\x33"  # PORCTRL
    b"\xb7\x01\x35"  # GCTRL
    b"\xbb\x01\x28"  # VCOMS
    b"\xc0\x01\x0c"  # LCMCTRL
    b"\xc2\x02\x01\xff"  # VDVVRHEN
    b"\xc3\x01\x10"  # VRHS
    b"\xc4\x01\x20"  # VDVS
    b"\xc6\x01\x0f"  # FRCTRL2: 60 Hz
    b"\xd0\x02\xa4\xa1"  # PWCTRL1
    b"\xe0\x0e\xd0\x00\x02\x07\x0a\x28\x32\x44\x42\x06\x0e\x12\x14\x17"  # PVGAMCTRL
    b"\xe1\x0e\xd0\x00\x02\x07\x0a\x28\x31\x54\x47\x0e\x1c\x17\x1b\x1e"  # NVGAMCTRL
    b"\x21\x00"  # INVON
    b"\x13\x80\x0a"  # NORON, 10 ms
    b"\x29\x80\x78"  # DISPON, 120 ms
)


class Panel(framebuf.FrameBuffer):
    """A landscape ST77xx panel as a GS4_HMSB FrameBuffer of width x buffer_rows.

    spi: machine.SPI; cs, dc, rst: machine.Pin outputs (rst may be None);
    init: one of the *_INIT sequences; orientations: ((madctl, x_offset,
    y_offset), (same, flipped 180 degrees)); backlight: callable(percent 0-100);
    band_bytes: at most this much RAM for the RGB565 rows that show() sends at
    a time (320: one row of 160 px; at least one row, 480 B at 240 px; fewer
    only add SPI writes per frame, more cost heap for good); rows: the frame
    buffer's rows (buffer_rows), a band of the panel when fewer than height (0: height).
    """

    def __init__(
        self, spi, cs, dc, rst, width, height, init, orientations, backlight, band_bytes=320, rows=0
    ):
        self.width = width
        self.height = height
        rows = rows or height
        self.buffer_rows = rows
        self.top = 0  # the panel row of the frame buffer's first row
        self.buffer = bytearray(((width + 1) & ~1) * rows // 2)
        super().__init__(self.buffer, width, rows, framebuf.GS4_HMSB)
        self._spi = spi
        self._cs = cs
        self._dc = dc
        self._orientations = orientations
        self._flip = 0
        self.brightness = backlight  # brightness(percent): backlight 0 (off) to 100 %
        n = max(1, min(rows, band_bytes // (2 * width)))
        while rows % n or height % rows % n:  # whole RGB565 bands only: show() never slices
            n -= 1
        self._rows = n
        self._band_buf = bytearray(2 * width * n)
        self._band = framebuf.FrameBuffer(self._band_buf, width, n, framebuf.RGB565)
        self._palette = framebuf.FrameBuffer(bytearray(32), 16, 1, framebuf.RGB565)
        b = memoryview(bytearray(5))  # a command byte, then up to 4 argument bytes
        self._cmd = b[:1]
        self._args = b[1:]
        self._arg1 = b[1:2]
        cs(1)
        if rst is not None:
            rst(1)
            time.sleep_ms(5)
            rst(0)
            time.sleep_ms(20)
            rst(1)
            time.sleep_ms(150)
        i = 0
        while i < len(init):
            n = init[i + 1] & 0x7F
            self._command(init[i], init[i + 2 : i + 2 + n])
            i += 2 + n
            if init[i - 1 - n] & 0x80:
                time.sleep_ms(init[i])
                i += 1
        self.set_orientation(False)

    def _command(self, cmd, args=None):
        self._cmd[0] = cmd
        self._cs(0)
        self._dc(0)
        self._spi.write(self._cmd)
        if args:
            self._dc(1)
            self._spi.write(args)
        self._cs(1)

    def set_palette(self, colours):
        """colours: 16 x 0xRRGGBB (screens.PALETTE), stored as big-endian RGB565 for the panel."""
        for i, rgb in enumerate(colours):
            c = ((rgb >> 8) & 0xF800) | ((rgb >> 5) & 0x07E0) | ((rgb >> 3) & 0x001F)
            self._palette.pixel(i, 0, ((c & 0xFF) << 8) | (c >> 8))

    def set_orientation(self, flip):
        """Landscape, or landscape turned 180 degrees when flip is true."""
        self._flip = 1 if flip else 0
        self._arg1[0] = self._orientations[self._flip][0]
        self._command(_MADCTL, self._arg1)

    def _range(self, cmd, start, count):
        b = self._args
        end = start + count - 1
        b[0] = start >> 8
        b[1] = start & 0xFF
        b[2] = end >> 8
        b[3] = end & 0xFF
        self._command(cmd, b)

    # the drawing methods lib/ui uses, in panel rows
    def fill_rect(self, x, y, w, h, c):
        super().fill_rect(x, y - self.top, w, h, c)

    def hline(self, x, y, w, c):
        super().hline(x, y - self.top, w, c)

    def vline(self, x, y, h, c):
        super().vline(x, y - self.top, h, c)

    def rect(self, x, y, w, h, c, f=False):
        super().rect(x, y - self.top, w, h, c, f)

    def blit(self, src, x, y, key=-1, palette=None):
        super().blit(src, x, y - self.top, key, palette)

    def show(self):
        """Send the frame buffer to the panel: its rows from top (all of it when buffer_rows == height)."""
        _, xo, yo = self._orientations[self._flip]
        count = min(self.buffer_rows, self.height - self.top)
        self._range(_CASET, xo, self.width)
        self._range(_RASET, yo + self.top, count)
        self._command(_RAMWR)
        band = self._band
        buf = self._band_buf
        palette = self._palette
        rows = self._rows
        self._cs(0)
        self._dc(1)
        y = 0
        while y < count:
            band.blit(self, 0, -y, -1, palette)
            self._spi.write(buf)
            y += rows
        self._cs(1)
