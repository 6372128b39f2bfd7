"""Board support: the only module that knows pins.

setup(name) builds the display (a GS4 FrameBuffer with show(),
set_orientation(flip) and brightness(percent)) and the buttons for
"m5stickc" (ST7735S 80x160, AXP192), "m5stickc_plus" (ST7789v2 135x240,
AXP192) or "m5stickc_plus2" (ST7789v2, no AXP192: GPIO4 holds the power on,
PWM backlight on GPIO27). Call it early at boot: the Plus2 turns itself off
unless GPIO4 goes high.
"""

import gc

import buttons
import st77xx
from machine import I2C, PWM, SPI, Pin
from micropython import const

BOARDS = ("m5stickc", "m5stickc_plus", "m5stickc_plus2")

# Shared by all three boards
_LCD_SCK = const(13)
_LCD_MOSI = const(15)
_LCD_CS = const(5)
_LCD_HZ = const(27_000_000)
_I2C_SDA = const(21)
_I2C_SCL = const(22)
_BUTTON_A = const(37)  # the big M5 button; active low, external pull-up
_BUTTON_B = const(39)  # the side button
# M5StickC and Plus
_LCD_DC = const(23)
_LCD_RST = const(18)
# Plus2
_PLUS2_HOLD = const(4)
_PLUS2_DC = const(14)
_PLUS2_RST = const(12)
_PLUS2_BACKLIGHT = const(27)

# MADCTL: MY 0x80, MX 0x40, MV 0x20 (rows/columns swapped: landscape), BGR 0x08.
# (madctl, x offset, y offset) for landscape and landscape turned 180 degrees.
_ST7735S_LANDSCAPE = ((0x68, 1, 26), (0xA8, 1, 26))  # 80x160 in the 132x162 RAM
_ST7789_LANDSCAPE = ((0x68, 40, 53), (0xA8, 40, 52))  # 135x240 in the 240x320 RAM


class Board:
    """What setup() built: name, display, buttons, i2c (AXP192, RTC), axp (None on the Plus2),
    hold (the Plus2's power-hold pin, kept referenced; else None).

    It has no methods, so nothing the app keeps refers back to this module: the
    caller may drop "board" from sys.modules after setup() and free its bytecode
    (on the Plus2 the PWM backlight function keeps it; that board has RAM to spare).
    """

    name: str
    display: "st77xx.Panel"
    buttons: "buttons.Buttons"
    i2c: I2C
    axp: "object | None"  # axp192.AXP192 on the M5StickC and Plus
    hold: "Pin | None"


def setup(name="m5stickc", clock=None, flip=False, brightness=100, palette=None):
    """Build the board's display and buttons. clock: ticks ms callable for the debouncing."""
    if name not in BOARDS:
        raise ValueError("unknown board %r" % name)
    if clock is None:
        from ticks import ticks_ms as clock
    if palette is None:
        from ui.screens import PALETTE as palette
    b = Board()
    b.name = name
    plus2 = name == "m5stickc_plus2"
    b.hold = Pin(_PLUS2_HOLD, Pin.OUT, value=1) if plus2 else None
    i2c = I2C(0, scl=Pin(_I2C_SCL), sda=Pin(_I2C_SDA), freq=400_000)
    axp = None
    if plus2:
        pwm = PWM(Pin(_PLUS2_BACKLIGHT), freq=5000, duty_u16=0)

        def backlight(percent):
            pwm.duty_u16(max(0, min(100, percent)) * 65535 // 100)

        dc, rst = _PLUS2_DC, _PLUS2_RST
    else:
        import axp192

        axp = axp192.AXP192(i2c)
        axp.lcd_power_on()
        backlight = axp.backlight
        dc, rst = _LCD_DC, _LCD_RST
    spi = SPI(1, baudrate=_LCD_HZ, polarity=0, phase=0, sck=Pin(_LCD_SCK), mosi=Pin(_LCD_MOSI), miso=None)
    gc.collect()  # the frame buffer and the band buffer in one piece each
    if name == "m5stickc":
        size, init, orientations = (160, 80), st77xx.ST7735S_INIT, _ST7735S_LANDSCAPE
    else:
        size, init, orientations = (240, 135), st77xx.ST7789_INIT, _ST7789_LANDSCAPE
    display = st77xx.Panel(
        spi,
        Pin(_LCD_CS, Pin.OUT, value=1),
        Pin(dc, Pin.OUT, value=0),
        Pin(rst, Pin.OUT, value=1),
        size[0],
        size[1],
        init,
        orientations,
        backlight,
    )
    display.set_palette(palette)
    display.set_orientation(flip)
    display.fill(0)
    display.show()
    display.brightness(brightness)
    b.buttons = buttons.Buttons((("a", Pin(_BUTTON_A, Pin.IN)), ("b", Pin(_BUTTON_B, Pin.IN))), clock)
    b.display = display
    b.i2c = i2c
    b.axp = axp
    return b
