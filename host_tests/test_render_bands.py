"""A panel drawn band by band shows what a whole frame buffer shows (MicroPython webassembly build).

firmware/st77xx.py can hold a band of the panel's rows (Panel(..., rows=n); board.setup(banded=True)
gives the app an eighth: 800 B instead of 6,400 on the StickC), and lib/ui/screens.py draw() then
draws the screen band by band, sending each band but the last (the caller's show() sends that). For
every case of host_tests/common/test_screens.py, the RGB565 picture the panel receives from a banded
Panel (bands of 10 rows at 160x80; 17 rows at 240x135, so the last band is shorter) is put together
from the SPI stream and compared with the picture of a whole-frame Panel, byte for byte. Also: one
window (RAMWR) per band, the banded frame buffer's size, and that a banded redraw of the main screen
allocates less than 1 KB (its strings are made once per redraw, not once per band).
"""

import json
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPWASM = os.path.join(ROOT, "tools", "mpwasm", "node_modules", "@micropython")

SCRIPT = r"""
import gc, json
import st77xx
import test_screens as T
from ui import screens

class Pin:
    def __init__(self, log):
        self.log = log
    def __call__(self, v=None):
        if v is not None:
            self.log.append(("dc", v))

class SPI:
    def __init__(self, log):
        self.log = log
    def write(self, b):
        self.log.append(("spi", bytes(b)))

class Quiet:
    def __call__(self, v=None):
        pass

ORIENT = ((0x68, 1, 26), (0xA8, 1, 26))

def panel(w, h, rows, log):
    init = st77xx.ST7735S_INIT
    return st77xx.Panel(SPI(log), Quiet(), Pin(log), None, w, h, init, ORIENT, lambda p: None, rows=rows)

def picture(log, w, h):
    # {panel row: RGB565 bytes} from the commands after the init: RASET sets the rows, RAMWR's data fills them
    rows = {}
    dc = 0
    cmd = None
    args = b""
    y0 = y1 = 0
    windows = 0
    data = b""
    def done():
        if cmd == 0x2C and data:
            for i in range(len(data) // (2 * w)):
                rows[y0 + i] = data[2 * w * i : 2 * w * (i + 1)]
    for what, v in log:
        if what == "dc":
            dc = v
            continue
        if dc == 0:
            done()
            if cmd == 0x2B:
                y0 = (args[0] << 8 | args[1]) - 26
                y1 = (args[2] << 8 | args[3]) - 26
            cmd = v[0]
            args = b""
            data = b""
            if cmd == 0x2C:
                windows += 1
        elif cmd == 0x2C:
            data += v
        else:
            args += v
    done()
    return rows, windows

out = {}
for case in T.CASES:
    name, screen, size, fields = case
    w, h = size
    rows = 10 if h == 80 else 17  # board.setup(banded=True): (h + 7) // 8
    pics = []
    for r in (0, rows):
        log = []
        p = panel(w, h, r, log)
        p.set_palette(screens.PALETTE)
        del log[:]
        screens.draw(p, T.make_view(fields), screen)
        p.show()
        pic, windows = picture(log, w, h)
        pics.append((pic, windows, len(p.buffer)))
    (full, fw, fbytes), (band, bw, bbytes) = pics
    out[name] = {
        "same": [y for y in range(h) if full.get(y) is None or full.get(y) != band.get(y)],
        "rows": sorted(band) == list(range(h)),
        "windows": [fw, bw],
        "bytes": [fbytes, bbytes],
        "drawn": len(set(full.values())) > 1,
    }
class QuietSPI:
    def write(self, b):
        pass

init = st77xx.ST7735S_INIT
p = st77xx.Panel(QuietSPI(), Quiet(), Quiet(), None, 160, 80, init, ORIENT, lambda p: None, rows=10)
v = T.make_view(T.CASES[0][3])
screens.draw(p, v, "main")
p.show()
gc.collect()
gc.disable()
before = gc.mem_alloc()
screens.draw(p, v, "main")
out["alloc_main"] = gc.mem_alloc() - before
gc.enable()
with open("/out/bands.json", "w") as f:
    json.dump(out, f)
"""


@pytest.fixture(scope="module")
def bands(tmp_path_factory):
    if not os.path.isdir(MPWASM) or not shutil.which("node"):
        pytest.skip("MicroPython webassembly build not installed (make mpwasm)")
    tmp = tmp_path_factory.mktemp("mpbands")
    script = tmp / "bands.py"
    script.write_text(SCRIPT)
    cmd = ["node", "tools/mpwasm/run.mjs", "--dir", "lib:/lib", "--dir", "firmware:/fw", "--path", "/fw"]
    cmd += ["--dir", "host_tests/common:/tests", "--path", "/tests"]
    cmd += ["--export-out", str(tmp / "out"), str(script)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(tmp / "out" / "bands.json") as f:
        return json.load(f)


def test_every_screen_drawn_in_bands_is_the_whole_frame_picture(bands):
    cases = [k for k in bands if k != "alloc_main"]
    assert len(cases) >= 10
    for name in cases:
        r = bands[name]
        assert r["drawn"], name  # the picture is not blank: the comparison means something
        assert r["rows"], name  # every panel row was sent
        assert r["same"] == [], (name, r["same"][:5])


def test_one_window_per_band_and_an_eighth_of_the_frame_buffer(bands):
    for name, r in bands.items():
        if name == "alloc_main":
            continue
        full, banded = r["bytes"]
        assert r["windows"][0] == 1, name
        if full == 160 * 80 // 2:
            assert banded == 160 * 10 // 2 and r["windows"][1] == 8, (name, r)
        else:
            assert full == 240 * 135 // 2 and banded == 240 * 17 // 2 and r["windows"][1] == 8, (name, r)


def test_a_banded_redraw_of_the_main_screen_allocates_less_than_1_kb(bands):
    assert 0 < bands["alloc_main"] < 1024, bands["alloc_main"]
