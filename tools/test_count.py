"""Count the tests of lib/: how many run on CPython, and how many of those also run on MicroPython.

A test is one test function: a parametrized pytest function counts once, as
does a table-driven function of the shared suite. Every test function in
host_tests/common/ runs on CPython (pytest) and on MicroPython (make test-mp
on the wasm build, make test-mp32 on the 32-bit float32 build); the other
files run on CPython only. Files whose subject is not lib/ (NOT_LIB) are
left out of both counts.

  .venv/bin/python tools/test_count.py [--files] [--run] [--min 0.5]

--files lists the count per file; --run also runs the shared suite on both
MicroPython builds and prints their closing lines; --min F exits 1 when
fewer than F of the lib/ tests run on MicroPython.
"""

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMON = "host_tests/common/"

# test files whose subject is not lib/ (what they test instead)
NOT_LIB = {
    "host_tests/test_app_deploy.py": "tools/deploy.py, package.json",
    "host_tests/test_app_device.py": "firmware/device.py",
    "host_tests/test_app_host_io.py": "host/serial_uart.py, host/fake_ambient.py",
    "host_tests/test_decode.py": "host/decode.py",
    "host_tests/test_e2e_pty.py": "host/pty_bridge.py and pyserial",
    "host_tests/test_e2e_run.py": "host/run.py as a process",
    "host_tests/test_heap_report.py": "tools/heap_report.py",
    "host_tests/test_meter_names.py": "host/meter_names.py",
    "host_tests/test_new_user.py": "host/run.py, tools/deploy.py, the Makefile",
    "host_tests/test_render_canvas.py": "host/canvas.py",
    "host_tests/test_render_drivers.py": "firmware display drivers",
    "host_tests/test_selftest.py": "firmware/selftest.py",
    "host_tests/test_simulator.py": "sim/",
}


def collect():
    """{file: set of test function names} as pytest collects them on CPython."""
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "host_tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    out = {}
    for line in r.stdout.splitlines():
        if "::" not in line:
            continue
        path, _, name = line.partition("::")
        out.setdefault(path, set()).add(name.split("[", 1)[0])
    if not out or r.returncode not in (0, 5):
        sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
        sys.exit("test_count: pytest could not collect host_tests (exit %d)" % r.returncode)
    return out


def run_vms():
    cmds = (
        ("wasm (double)", ["make", "-s", "test-mp"]),
        ("32-bit float32", ["make", "-s", "test-mp32"]),
    )
    for name, cmd in cmds:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        last = re.findall(r"\w+: \d+ passed, \d+ failed, \d+ skipped", r.stdout)
        print("%-15s %s (exit %d)" % (name, last[-1] if last else "no closing line", r.returncode))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Count the tests of lib/ on CPython and on MicroPython.")
    ap.add_argument("--files", action="store_true", help="the count per file")
    ap.add_argument("--run", action="store_true", help="also run the shared suite on both MicroPython builds")
    ap.add_argument("--min", type=float, help="exit 1 below this share of lib/ tests on MicroPython")
    args = ap.parse_args(argv)
    files = collect()
    lib = {p: n for p, n in files.items() if p not in NOT_LIB}
    total = sum(len(n) for n in lib.values())
    shared = sum(len(n) for p, n in lib.items() if p.startswith(COMMON))
    other = sum(len(n) for p, n in files.items() if p in NOT_LIB)
    if args.files:
        for p in sorted(files):
            where = "both" if p.startswith(COMMON) else "CPython"
            if p in NOT_LIB:
                where = "not lib/: " + NOT_LIB[p]
            print("%4d  %-50s %s" % (len(files[p]), p, where))
    share = shared / total if total else 0.0
    print(
        "lib/ tests (test functions): %d on CPython, %d of them also on MicroPython (%.0f %%);"
        " %d more tests of host/, firmware/, sim/ and tools/" % (total, shared, 100 * share, other)
    )
    if args.run:
        run_vms()
    if args.min is not None and share < args.min:
        print("test_count: below %.0f %%" % (100 * args.min))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
