"""The panel driver on real MicroPython (framebuf + fake SPI and pins), the buttons on CPython.

firmware/st77xx.py needs only framebuf, time and pin/SPI objects, so it runs in
the MicroPython webassembly build with stand-ins that record every SPI byte:
the test decodes the command stream (init, MADCTL, window with offsets for both
orientations) and checks that the RGB565 pixel data equals the palette colours
of the frame buffer, and that show() allocates nothing.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))
MPWASM = os.path.join(ROOT, "tools", "mpwasm", "node_modules", "@micropython")

import buttons  # noqa: E402  (firmware/)
from ui import screens  # noqa: E402

SCRIPT = r"""
import gc, json, framebuf
import st77xx
from ui import screens, view

log = []

class Pin:
    def __init__(self, name):
        self.name = name
    def __call__(self, v):
        log.append((self.name, v))

class SPI:
    def write(self, b):
        log.append(("spi", bytes(b)))

class QuietPin:
    def __call__(self, v):
        pass

class CountingSPI:
    def __init__(self):
        self.n = [0]
    def write(self, b):
        self.n[0] += len(b)

def allocated(f):
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    f()
    n = gc.mem_alloc() - before
    gc.enable()
    return n

levels = []
out = {}
for name, w, h, init, orient in (
    ("st7735s", 160, 80, st77xx.ST7735S_INIT, ((0x68, 1, 26), (0xA8, 1, 26))),
    ("st7789", 240, 135, st77xx.ST7789_INIT, ((0x68, 40, 53), (0xA8, 40, 52))),
):
    del log[:]
    p = st77xx.Panel(SPI(), Pin("cs"), Pin("dc"), Pin("rst"), w, h, init, orient, levels.append)
    p.set_palette(screens.PALETTE)
    v = view.View()
    v.power_w = -1234
    v.current_r_da = 250
    v.contract_a = 30
    v.age_s = 3
    screens.draw(p, v, "main")
    p.show()
    p.set_orientation(True)
    p.show()
    p.brightness(40)
    events = [(a, b.hex() if isinstance(b, bytes) else b) for a, b in log]
    out[name] = {"log": events, "fb": bytes(p.buffer).hex()}
    q = st77xx.Panel(CountingSPI(), QuietPin(), QuietPin(), None, w, h, init, orient, levels.append)
    q.show()
    q._spi.n[0] = 0
    out[name]["show_alloc"] = allocated(q.show)
    out[name]["show_bytes"] = q._spi.n[0]
out["levels"] = levels
with open("/out/drivers.json", "w") as f:
    json.dump(out, f)
"""


@pytest.fixture(scope="module")
def mp_drivers(tmp_path_factory):
    if not os.path.isdir(MPWASM) or not shutil.which("node"):
        pytest.skip("MicroPython webassembly build not installed (make mpwasm)")
    tmp = tmp_path_factory.mktemp("mpdrivers")
    script = tmp / "drivers.py"
    script.write_text(SCRIPT)
    cmd = ["node", "tools/mpwasm/run.mjs", "--dir", "lib:/lib", "--dir", "firmware:/fw", "--path", "/fw"]
    cmd += ["--export-out", str(tmp / "out"), str(script)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(tmp / "out" / "drivers.json") as f:
        return json.load(f)


def _transactions(log):
    """[(command, data bytes)] from the pin/SPI log: dc low = command byte, dc high = data."""
    out = []
    dc = None
    for what, value in log:
        if what == "dc":
            dc = value
        elif what == "spi":
            b = bytes.fromhex(value)
            if dc == 0:
                assert len(b) == 1
                out.append([b[0], b""])
            else:
                out[-1][1] += b
    return out


def _rgb565(rgb):
    return ((rgb >> 8) & 0xF800) | ((rgb >> 5) & 0x07E0) | ((rgb >> 3) & 0x001F)


def _check_panel(result, w, h, offsets, madctl):
    tx = _transactions(result["log"])
    cmds = [c for c, _ in tx]
    assert cmds[0] == 0x01 and 0x11 in cmds and 0x21 in cmds and 0x29 in cmds  # reset, wake, INVON, on
    assert [d for c, d in tx if c == 0x3A][0][0] & 0x07 == 0x05  # 16 bits per pixel
    fb = bytes.fromhex(result["fb"])
    expected = bytearray()
    for y in range(h):
        for x in range(w):
            v = fb[(x + y * w) >> 1]
            index = v & 0x0F if x & 1 else v >> 4
            expected += _rgb565(screens.PALETTE[index]).to_bytes(2, "big")
    shows = [i for i, (c, _) in enumerate(tx) if c == 0x2C]
    assert len(shows) == 2
    for n, i in enumerate(shows):
        xo, yo = offsets[n]
        assert tx[i - 2] == [0x2A, bytes((xo >> 8, xo & 255, (xo + w - 1) >> 8, (xo + w - 1) & 255))]
        assert tx[i - 1] == [0x2B, bytes((yo >> 8, yo & 255, (yo + h - 1) >> 8, (yo + h - 1) & 255))]
        assert tx[i][1] == bytes(expected)
    madctls = [d[0] for c, d in tx if c == 0x36]
    assert madctls == madctl  # after init, then the flip
    assert result["show_alloc"] == 0
    assert result["show_bytes"] == 2 * w * h + 1 + 4 + 1 + 4 + 1  # CASET, RASET, RAMWR and the pixels


def test_st7735s_sends_the_frame_with_the_landscape_offsets(mp_drivers):
    _check_panel(mp_drivers["st7735s"], 160, 80, ((1, 26), (1, 26)), [0x68, 0xA8])


def test_st7789_offsets_change_with_the_flip(mp_drivers):
    _check_panel(mp_drivers["st7789"], 240, 135, ((40, 53), (40, 52)), [0x68, 0xA8])


def test_brightness_goes_to_the_backlight(mp_drivers):
    assert mp_drivers["levels"] == [40, 40]


class _Pin:
    def __init__(self):
        self.level = 1

    def value(self):
        return self.level


def test_buttons_debounce_and_report_short_and_long_presses():
    now = [0]
    a, b = _Pin(), _Pin()
    keys = buttons.Buttons(
        (("a", a), ("b", b)), lambda: now[0] & ((1 << 30) - 1), debounce_ms=30, long_ms=1000
    )

    def run(ms, step=5):
        events = []
        for _ in range(ms // step):
            now[0] += step
            e = keys.poll()
            if e:
                events.append(e)
        return events

    assert run(100) == []
    # bounce: short spikes below the debounce time do nothing
    for _ in range(5):
        a.level = 0
        assert run(10) == []
        a.level = 1
        assert run(10) == []
    assert run(100) == []
    # a short press: reported once, on release
    a.level = 0
    assert run(200) == []
    a.level = 1
    assert run(100) == ["a"]
    # a long press: reported once while held, nothing on release
    b.level = 0
    assert run(1500) == ["b_long"]
    b.level = 1
    assert run(100) == []
    # ticks wrap around 2**30 without a false event
    now[0] = (1 << 30) - 20
    a.level = 0
    events = run(100)
    a.level = 1
    events += run(100)
    assert events == ["a"]
