"""Board support: the only module that knows pins.

setup(name) builds the display (a GS4 FrameBuffer with show(),
set_orientation(flip) and brightness(percent)) and the buttons for
"m5stickc" (ST7735S 80x160, AXP192), "m5stickc_plus" (ST7789v2 135x240,
AXP192) or "m5stickc_plus2" (ST7789v2, no AXP192: GPIO4 holds the power on,
PWM backlight on GPIO27).

GPIO4 goes high first, on every board (the Plus2 turns itself off without
it), then the AXP192 is looked for at I2C 0x34. A name that is missing,
unknown or contradicts what answers there is not guessed: setup() returns a
Board whose problem says so (a "board: ..." line for the config error
screen) and whose display is safe for what was found: the Plus2's panel
without an AXP192; with one, a 120x52 window of the panel RAM that both the
StickC's ST7735S and the Plus's ST7789 show, set up with commands the two
share (no controller-specific init goes to the wrong panel).
"""

import gc

import buttons
import st77xx
from machine import I2C, PWM, SPI, Pin
from micropython import const

_BOARDS = const(("m5stickc", "m5stickc_plus", "m5stickc_plus2"))
_AXP192_ADDR = const(0x34)

# Shared by all three boards
_LCD_SCK = const(13)
_LCD_MOSI = const(15)
_LCD_CS = const(5)
_LCD_HZ = const(27_000_000)
_I2C_SDA = const(21)
_I2C_SCL = const(22)
_BUTTON_A = const(37)  # the big M5 button; active low, external pull-up
_BUTTON_B = const(39)  # the side button
_HOLD = const(4)  # Plus2: power hold (high = stay on); unused on the StickC and Plus
# M5StickC and Plus
_LCD_DC = const(23)
_LCD_RST = const(18)
# Plus2
_PLUS2_DC = const(14)
_PLUS2_RST = const(12)
_PLUS2_BACKLIGHT = const(27)

# MADCTL: MY 0x80, MX 0x40, MV 0x20 (rows/columns swapped: landscape), BGR 0x08.
# (madctl, x offset, y offset) for landscape and landscape turned 180 degrees: M5's rotation 1 and 3
# (M5GFX: the StickC's panel sits at offset_rotation 2, the Plus's at 0, so one MADCTL shows the
# two upside down to each other; docs/hardware.md).
_ST7735S_LANDSCAPE = const(((0xA8, 1, 26), (0x68, 1, 26)))  # 80x160 in the 132x162 RAM
_ST7789_LANDSCAPE = const(((0x68, 40, 53), (0xA8, 40, 52)))  # 135x240 in the 240x320 RAM
# The window both panels show with MADCTL 0x68: RAM x 40-159, y 53-104 (StickC: x 1-160,
# y 26-105 visible; Plus: x 40-279, y 53-187). Upside down on one of them; flip does nothing.
_COMMON = const((120, 52, ((0x68, 40, 53), (0x68, 40, 53))))
# Commands both controllers take alike: SWRESET, SLPOUT, COLMOD 16 bits, INVON, NORON, DISPON.
_COMMON_INIT = const(b"\x01\x80\x96\x11\x80\xff\x3a\x81\x55\x0a\x21\x00\x13\x80\x0a\x29\x80\x78")


class Board:
    """What setup() built: name (None with a problem), problem ("board: ..." or None), display,
    buttons, i2c (AXP192, RTC), axp (None without an AXP192), hold (GPIO4, kept referenced).

    It has no methods, so nothing the app keeps refers back to this module: the
    caller may drop "board" from sys.modules after setup() and free its bytecode
    (on the Plus2 the PWM backlight function keeps it; that board has RAM to spare).
    """

    name: "str | None"
    problem: "str | None"
    display: "st77xx.Panel"
    buttons: "buttons.Buttons"
    i2c: I2C
    axp: "object | None"  # axp192.AXP192 on the M5StickC and Plus
    hold: Pin


def axp192_found(i2c):
    """True when an AXP192 answers at I2C 0x34 (its chip ID, register 0x03, reads 0x03)."""
    try:
        return i2c.readfrom_mem(_AXP192_ADDR, 0x03, 1)[0] == 0x03
    except OSError:  # no acknowledge: nothing at 0x34
        return False


def check(name, axp):
    """The "board: ..." problem of name given whether an AXP192 answers (axp), or None."""
    choices = '"m5stickc", "m5stickc_plus" or "m5stickc_plus2"'
    if name is None:
        return "board: missing; expected " + choices
    if name not in _BOARDS:
        return 'board: expected %s, got "%s"' % (choices, str(name)[:24])
    if axp and name == "m5stickc_plus2":
        return 'board: "m5stickc_plus2" has no AXP192, but one answers at I2C 0x34 (a StickC or Plus?)'
    if not axp and name != "m5stickc_plus2":
        return 'board: no AXP192 answers at I2C 0x34, so not "%s" (a Plus2: "m5stickc_plus2"?)' % name
    return None


def setup(name: "str | None", clock=None, flip=False, brightness=100, palette=None, banded=False):
    """Build the board's display and buttons. clock: ticks ms callable for the debouncing; banded:
    the frame buffer holds an eighth of the panel's rows (800 B on the StickC instead of 6,400;
    lib/ui/screens.py draws band by band, eight times a redraw), else all of them."""
    hold = Pin(_HOLD, Pin.OUT, value=1)
    if clock is None:
        from ticks import ticks_ms as clock
    if palette is None:
        from ui.screens import PALETTE as palette
    i2c = I2C(0, scl=Pin(_I2C_SCL), sda=Pin(_I2C_SDA), freq=400_000)
    found = axp192_found(i2c)
    b = Board()
    b.problem = check(name, found)
    b.name = None if b.problem else name
    b.hold = hold
    axp = None
    if not found:  # the Plus2, whatever the name said
        pwm = PWM(Pin(_PLUS2_BACKLIGHT), freq=5000, duty_u16=0)

        def backlight(percent):
            pwm.duty_u16(max(0, min(100, percent)) * 65535 // 100)

        dc, rst = _PLUS2_DC, _PLUS2_RST
    else:
        import axp192

        axp = axp192.AXP192(i2c, _AXP192_ADDR)
        axp.setup()
        backlight = axp.backlight
        dc, rst = _LCD_DC, _LCD_RST
    spi = SPI(1, baudrate=_LCD_HZ, polarity=0, phase=0, sck=Pin(_LCD_SCK), mosi=Pin(_LCD_MOSI), miso=None)
    gc.collect()  # the frame buffer and the RGB565 rows in one piece each
    if found and b.name is None:
        w, h, orientations = _COMMON
        init = _COMMON_INIT
    elif b.name == "m5stickc":
        w, h, init, orientations = 160, 80, st77xx.ST7735S_INIT, _ST7735S_LANDSCAPE
    else:
        w, h, init, orientations = 240, 135, st77xx.ST7789_INIT, _ST7789_LANDSCAPE
    rows = (h + 7) // 8 if banded else 0
    display = st77xx.Panel(
        spi,
        Pin(_LCD_CS, Pin.OUT, value=1),
        Pin(dc, Pin.OUT, value=0),
        Pin(rst, Pin.OUT, value=1),
        w,
        h,
        init,
        orientations,
        backlight,
        rows=rows,
    )
    display.set_palette(palette)
    display.set_orientation(flip)
    for top in range(0, h, rows or h):  # the whole panel black
        display.top = top
        display.fill(0)
        display.show()
    display.brightness(brightness)
    b.buttons = buttons.Buttons((("a", Pin(_BUTTON_A, Pin.IN)), ("b", Pin(_BUTTON_B, Pin.IN))), clock)
    b.display = display
    b.i2c = i2c
    b.axp = axp
    return b
