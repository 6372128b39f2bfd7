"""The panel driver and board set-up on real MicroPython (framebuf + fake SPI, I2C and pins), the buttons
on CPython.

firmware/st77xx.py needs only framebuf, time and pin/SPI objects, so it runs in
the MicroPython webassembly build with stand-ins that record every SPI byte:
the test decodes the command stream (init, MADCTL, window with offsets for both
orientations) and checks that the RGB565 pixel data equals the palette colours
of the frame buffer, and that show() allocates nothing. firmware/board.py runs
there too with a stand-in `machine`: GPIO4 first, the AXP192 looked for and set
up (charger), the orientation of each board, and the safe display and the
"board: ..." problem when the name is missing.
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
    ("st7735s", 160, 80, st77xx.ST7735S_INIT, ((0xA8, 1, 26), (0x68, 1, 26))),
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
    _check_panel(mp_drivers["st7735s"], 160, 80, ((1, 26), (1, 26)), [0xA8, 0x68])


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


# --- board.setup() on MicroPython with a stand-in machine --------------------------------------------

MACHINE_STUB = r"""
LOG = []
AXP = [True]
NAMES = {5: "cs", 12: "rst", 14: "dc", 18: "rst", 23: "dc"}


def reset(axp):
    del LOG[:]
    AXP[0] = axp


class Pin:
    IN = 1
    OUT = 3

    def __init__(self, n, mode=None, value=None):
        self.name = NAMES.get(n, "gpio%d" % n)
        LOG.append(("pin", n, mode, value))

    def __call__(self, v=None):
        if v is not None:
            LOG.append((self.name, v))

    def value(self, v=None):
        return 1


class I2C:
    def __init__(self, *a, **k):
        LOG.append(("i2c", 0))

    def readfrom_mem(self, addr, reg, n):
        if addr != 0x34 or not AXP[0]:
            raise OSError(19)
        return bytes([3 if reg == 3 else 0] * n)

    def readfrom_mem_into(self, addr, reg, buf):
        buf[:] = self.readfrom_mem(addr, reg, len(buf))

    def writeto_mem(self, addr, reg, buf):
        if addr != 0x34 or not AXP[0]:
            raise OSError(19)
        LOG.append(("i2cw", reg, bytes(buf)[0]))


class SPI:
    def __init__(self, *a, **k):
        pass

    def write(self, b):
        LOG.append(("spi", bytes(b)[:64].hex()))


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        LOG.append(("pwm", duty_u16))

    def duty_u16(self, v):
        LOG.append(("pwm", v))
"""

BOARD_SCRIPT = r"""
import json, sys
import machine

out = {}
for case, axp, name, flip in (
    ("stickc", True, "m5stickc", False),
    ("stickc_flip", True, "m5stickc", True),
    ("plus", True, "m5stickc_plus", False),
    ("plus_flip", True, "m5stickc_plus", True),
    ("plus2", False, "m5stickc_plus2", False),
    ("missing", True, None, False),
    ("missing_plus2", False, None, False),
    ("plus2_named_stickc", False, "m5stickc", False),
):
    machine.reset(axp)
    import board
    b = board.setup(name, clock=lambda: 0, flip=flip, palette=(0xFFFFFF,) * 16)
    out[case] = {"log": machine.LOG[:], "problem": b.problem, "name": b.name,
                 "size": [b.display.width, b.display.height], "axp": b.axp is not None}
    del sys.modules["board"]
with open("/out/board.json", "w") as f:
    json.dump(out, f)
"""

# M5GFX (src/M5GFX.cpp, lgfx Panel_LCD): the StickC's panel has offset_rotation 2, the Plus's 0; rotation r
# uses madctl_table[(r + offset_rotation) & 3]: 1 -> MV|MX (0x60), 3 -> MV|MY (0xA0); BGR adds 0x08.
M5_ROTATION = {1: 0x68, 3: 0xA8}
M5_OFFSET_ROTATION = {"stickc": 2, "plus": 0}


def m5_madctl(board, rotation):
    return M5_ROTATION[(rotation + M5_OFFSET_ROTATION[board]) & 3]


@pytest.fixture(scope="module")
def mp_board(tmp_path_factory):
    if not os.path.isdir(MPWASM) or not shutil.which("node"):
        pytest.skip("MicroPython webassembly build not installed (make mpwasm)")
    tmp = tmp_path_factory.mktemp("mpboard")
    (tmp / "stub").mkdir()
    (tmp / "stub" / "machine.py").write_text(MACHINE_STUB)
    script = tmp / "board_setup.py"
    script.write_text(BOARD_SCRIPT)
    cmd = ["node", "tools/mpwasm/run.mjs", "--dir", "lib:/lib", "--dir", "firmware:/fw", "--dir"]
    cmd += [str(tmp / "stub") + ":/stub", "--path", "/fw", "--path", "/stub"]
    cmd += ["--export-out", str(tmp / "out"), str(script)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(tmp / "out" / "board.json") as f:
        return json.load(f)


def _board_tx(log):
    """_transactions of a board log (pin creations and I2C writes left out)."""
    return _transactions([e for e in log if len(e) == 2])


def _window(tx):
    """(x0, x1, y0, y1) of the last CASET/RASET."""
    ca = [d for c, d in tx if c == 0x2A][-1]
    ra = [d for c, d in tx if c == 0x2B][-1]
    return (ca[0] << 8 | ca[1], ca[2] << 8 | ca[3], ra[0] << 8 | ra[1], ra[2] << 8 | ra[3])


def test_gpio4_goes_high_before_anything_else(mp_board):
    for case in mp_board.values():
        assert case["log"][0] == ["pin", 4, 3, 1]


@pytest.mark.parametrize("board, name", [("stickc", "m5stickc"), ("plus", "m5stickc_plus")])
def test_flip_turns_both_boards_the_same_way(mp_board, board, name):
    """Fix 8: unflipped is M5's rotation 1 on both boards, flipped is rotation 3."""
    for case, rotation in ((board, 1), (board + "_flip", 3)):
        result = mp_board[case]
        assert result["name"] == name and result["problem"] is None
        madctls = [d[0] for c, d in _board_tx(result["log"]) if c == 0x36]
        assert madctls[-1] == m5_madctl(board, rotation), (case, [hex(m) for m in madctls])
    w, h = (160, 80) if board == "stickc" else (240, 135)
    x0, x1, y0, y1 = _window(_board_tx(mp_board[board]["log"]))
    assert (x1 - x0 + 1, y1 - y0 + 1) == (w, h)


@pytest.mark.parametrize("case", ["stickc", "plus"])
def test_axp192_charger_set_like_m5unified(mp_board, case):
    """Fix 6: reg 0x33 = 0xC0 (charge on, 4.2 V, 100 mA), reg 0x30 = 0x80 (M5Unified, StickC/Plus)."""
    writes = [(reg, v) for what, *rest in mp_board[case]["log"] if what == "i2cw" for reg, v in [rest]]
    assert (0x33, 0xC0) in writes and (0x30, 0x80) in writes


def test_plus2_uses_no_axp192(mp_board):
    result = mp_board["plus2"]
    assert result["problem"] is None and not result["axp"] and result["size"] == [240, 135]
    assert not [e for e in result["log"] if e[0] == "i2cw"]
    assert ["pwm", 65535] in result["log"]


def test_missing_board_with_an_axp192_gets_the_window_both_panels_show(mp_board):
    """Fix 4: no guess between the StickC's ST7735S and the Plus's ST7789: only commands both take, and
    a window inside what both show (StickC x 1-160, y 26-105; Plus x 40-279, y 53-187 in RAM)."""
    result = mp_board["missing"]
    assert result["name"] is None and result["problem"].startswith("board: missing")
    tx = _board_tx(result["log"])
    assert {c for c, _ in tx} <= {0x01, 0x11, 0x3A, 0x21, 0x13, 0x29, 0x36, 0x2A, 0x2B, 0x2C}
    x0, x1, y0, y1 = _window(tx)
    assert 40 <= x0 <= x1 <= 160 and 53 <= y0 <= y1 <= 105
    assert (x1 - x0 + 1, y1 - y0 + 1) == tuple(result["size"])
    assert [d[0] for c, d in tx if c == 0x36] == [0x68, 0x68]


@pytest.mark.parametrize("case", ["missing_plus2", "plus2_named_stickc"])
def test_no_axp192_means_the_plus2_panel_and_a_board_problem(mp_board, case):
    result = mp_board[case]
    assert result["name"] is None and result["problem"].startswith("board: ")
    assert result["size"] == [240, 135] and not result["axp"]
    assert 0xB2 in {c for c, _ in _board_tx(result["log"])}  # the ST7789 init (PORCTRL)
    assert not [e for e in result["log"] if e[0] == "i2cw"], "no AXP192 write: nothing answers"
