"""Render every screen for representative states to PNG: `make screenshots` -> docs/screens/*.png.

The states are the CASES of host_tests/common/test_screens.py (the same ones
the tests compare between MicroPython and CPython), drawn by lib/ui/
into the host canvas (host/canvas.py). Usage:
    screenshots.py [--out docs/screens] [--scale 3] [--ansi NAME]
--ansi prints one screen to the terminal in 24-bit colour instead.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("lib", "host", os.path.join("host_tests", "common")):
    sys.path.insert(0, os.path.join(ROOT, sub))

import test_screens  # noqa: E402  # pyright: ignore[reportMissingImports]
from ui import draw  # noqa: E402

# case name -> what the picture shows (docs/display.md lists the same)
SHOTS = (
    ("normal", "main screen: power, age, current against the contract, yen (est.), today's kWh, clock"),
    ("export", "exporting (negative power) in its own colour"),
    ("amber", "current at 74 % of the contract: amber"),
    ("red", "current at 93 % of the contract: red"),
    ("stale", "no reading for 3 minutes: values dimmed, STALE, the error"),
    ("no_clock", "wall clock not set yet: no period figures, no clock"),
    ("largest", "largest plausible values (-9,999 W, 99,999 kWh, 999,999 yen), stale"),
    ("forecast", "forecast yen and export kWh set: even redraw (today's kWh, period kWh)"),
    ("forecast_odd", "forecast yen and export kWh set: odd redraw (end-of-period yen, export)"),
    ("links", "status marks without colour: joining, Wi-Fi down, Ambient not in use"),
    ("connecting", "connecting: scanning with progress"),
    ("error", "connecting failed: B-route ID rejected"),
    ("no_meter", "connecting failed: no meter found"),
    ("today", "today's consumption per half hour, with units and an hour axis"),
    ("diagnostics", "diagnostics"),
    ("config_error", "config error: which key is wrong and why"),
    ("plus_normal", "M5StickC Plus (240x135): main screen"),
    ("plus_export", "M5StickC Plus: exporting"),
    ("plus_forecast", "M5StickC Plus: forecast and export on a row of their own"),
    ("plus_today", "M5StickC Plus: today's chart"),
)


def _case(name):
    for case in test_screens.CASES:
        if case[0] == name:
            return case
    raise SystemExit("no case %r" % name)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Render every screen to PNG under docs/screens/.")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "screens"))
    ap.add_argument("--scale", type=int, default=3)
    ap.add_argument("--ansi", metavar="NAME", help="print this case to the terminal instead")
    args = ap.parse_args(argv)
    if args.ansi:
        print(test_screens.render(_case(args.ansi)).to_ansi(draw.PALETTE))
        return 0
    os.makedirs(args.out, exist_ok=True)
    for name, what in SHOTS:
        path = os.path.join(args.out, name + ".png")
        test_screens.render(_case(name)).to_png(path, draw.PALETTE, args.scale)
        print("%s: %s" % (os.path.relpath(path, ROOT), what))
    return 0


if __name__ == "__main__":
    sys.exit(main())
