"""Expose the BP35A1 + meter simulator on a pseudo-terminal (CPython, POSIX).

    python host/pty_bridge.py [--dialect bp35a1] [--latency-ms 1000] [--seed 1] ...

prints the slave path (e.g. /dev/pts/7) on the first line of stdout and
serves it in real time until killed (SIGINT/SIGTERM end it cleanly), so
pyserial - and `make run SERIAL=/dev/pts/7` - talk to it as to a USB
Wi-SUN dongle. The B-route ID and password it accepts are the simulator's
demo credentials unless --config (those of a SmartMeter.json) or
--rbid/--password are given.
"""

import argparse
import os
import select
import signal
import sys
import termios
import time
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _sub in ("sim", "lib"):
    _p = os.path.join(ROOT, _sub)
    if _p not in sys.path:
        sys.path.insert(0, _p)

import bp35a1  # noqa: E402
import clock as vclock  # noqa: E402
import meter_model  # noqa: E402


class Bridge:
    """Runs a Module on a virtual clock that follows the real one (times speed)."""

    def __init__(self, module, clock, master, speed=1.0):
        self.module = module
        self.clock = clock
        self.master = master
        self.speed = speed
        self._t0 = time.monotonic()
        self._buf = bytearray(4096)

    def _sync(self):
        self.clock.advance_to(int((time.monotonic() - self._t0) * 1000 * self.speed))
        self.module.update()

    def step(self, max_wait_s=0.05):
        """One round: wait for input or the module's next event, then move bytes both ways."""
        self._sync()
        nxt = self.module.next_event_ms()
        wait = max_wait_s
        if nxt is not None:
            wait = min(wait, max(0.0, (nxt - self.clock.now_ms) / 1000.0 / self.speed))
        if self.module.available():
            wait = 0
        r, _, _ = select.select([self.master], [], [], wait)
        self._sync()
        if r:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # no reader on the slave side yet
                data = b""
            if data:
                self.module.uart.write(data)
        out = self.module.uart.read()
        if out:
            try:
                os.write(self.master, out)
            except OSError:
                pass

    def serve(self, stop):
        while not stop():
            self.step()


def make_module(args, start=None):
    start = int(time.time()) if start is None else start
    clk = vclock.VirtualClock(wall=start)
    meter = meter_model.MeterModel(
        start,
        seed=args.seed,
        solar=args.solar,
        wires=args.wires,
        reverse=True if args.solar else None,
    )
    mod = bp35a1.Module(
        clk,
        meter,
        dialect=args.dialect,
        rbid=args.rbid,
        password=args.password,
        seed=args.seed,
        latency_ms=args.latency_ms,
    )
    mod.faults.drop_prob = args.drop
    return mod, clk


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Serve the BP35A1 + meter simulator on a pty.")
    p.add_argument("--dialect", default="bp35a1", choices=["bp35a1", "rl7023", "bp35c0"])
    p.add_argument("--latency-ms", type=int, default=1000, help="meter answer latency (ms)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--solar", type=int, default=0, help="peak solar generation (W), 0 = none")
    p.add_argument("--wires", type=int, default=3, choices=[2, 3])
    p.add_argument("--drop", type=float, default=0.0, help="probability of a lost meter answer")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--rbid", default=bp35a1.DEFAULT_ID)
    p.add_argument("--password", default=bp35a1.DEFAULT_PASSWORD)
    p.add_argument(
        "--config", help="accept the B-route ID and password of this SmartMeter.json (never printed)"
    )
    args = p.parse_args(argv)
    if args.config:
        args.rbid, args.password = config_credentials(args.config, p.error)
    return args


def config_credentials(path, fail):
    """(id, password) from a SmartMeter.json, so the app's own config joins the simulated meter."""
    import json

    try:
        with open(path, encoding="utf-8-sig") as f:
            doc = json.load(f)
        return str(doc["id"]), str(doc["password"])
    except (OSError, ValueError, KeyError, TypeError):
        fail("--config %s: cannot read its id and password (a JSON object with both)" % path)
        raise


def main(argv=None):
    args = parse_args(argv)
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no CR/LF translation: a plain byte pipe
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    path = os.ttyname(slave)
    module, clk = make_module(args)
    print(path, flush=True)
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(1))
    try:
        Bridge(module, clk, master, args.speed).serve(lambda: bool(stopping))
    finally:
        os.close(master)
        os.close(slave)
    return 0


if __name__ == "__main__":
    sys.exit(main())
