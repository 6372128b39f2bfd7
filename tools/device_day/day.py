"""The whole app for a simulated day inside a MicroPython VM with the M5StickC's heap.

  .venv/bin/python tools/device_day/day.py [--hours 24] [--seed 1] [--json] [--log]
        [--no-anatomy] [--no-mqtt] [--strict-heap] [--tree DIR] [--keep DIR]

The VM is ../shared/tools/micropython-esp32like/micropython (MicroPython v1.27.0,
32-bit, float32, requests/umqtt frozen), with an exact -X heapsize. Inside it
only what the device holds: /lib compiled as tools/deploy.py compiles it,
/main.py and /boot.py as source, SmartMeter.json, and the stand-ins of
tools/device_day/vm/ for what the ESP32 has in C: time, gc, machine, network,
ntptime and socket (the VM's real sockets, shaped like lwIP's). Outside, in this
process: the BP35A1 + meter simulator (sim/) with the fault schedule
(world.py), the Ambient stand-in (an HTTP server on 127.0.0.1), a real mosquitto
on a free 127.0.0.1 port with a password file (the app publishes to it through
firmware/mqtt_umqtt.py and the VM's frozen umqtt.simple; a paho subscriber here
counts the state messages and discovery configs) and the measuring. The config
has every feature on (world.config: time-of-use tariff with dated figures,
collect_date schedule, MQTT). The broker runs in real time while the VM's clock
is virtual: the app publishes every 10 virtual s, far more often than the
keep-alive (30 s) asks in real time, so the broker never drops it for silence.

The heap: a calibration boot first measures what the harness itself holds
(stand-ins, link: ~12.5 KB, their code is in the heap, unlike the device's C
modules; less the ~2 KB of qstr pools its names fill, which the app's own
names fill on the device); the day's VMs then get -X heapsize = 111,936 + that,
so the app has exactly the device's 111,936 B, and that much is taken out of
every live-heap figure (with any pool the harness's names add beyond the
device's). --strict-heap runs -X heapsize=111936 with the harness inside (the
app then has ~10 KB less than on the device).

Lockstep: the VM's clock is virtual (ms of the day). A UART call that needs the
simulator sends "at t ms: read / write these bytes" over a Unix socket; this
process runs the simulator to t and answers with the bytes and the time of the
simulator's next event, until which the VM answers UART.any() itself. The
UART's 2,048-byte receive buffer is kept here; bytes beyond it are lost.

Harness overrides, all in vm/: Ambient time-outs are real socket time-outs but
capped at 0.3 s (the stand-in stalls 1 s), and the virtual clock is charged the
app's whole time-out (10 s), as the device would block; while the harness's
Wi-Fi is down, DNS and connects fail at once; make_record is wrapped so this
process hears of every record the app made.

Measured (vm/hw_time.py): each sample time (every hour of 24) gc.collect(), the
live heap, whether a fresh 8 KB bytearray allocates; every refresh cycle (from
one meter reading to the next) the heap bytes allocated. Outside: MemoryErrors
(the VM's output), every record made against what the stand-in received, and
the received power against the simulated meter's. Then (anatomy.py) a
separate VM imports the modules the app kept, one by one: code and qstrs per
module, the panel's buffers.

Prints a Markdown report ending with the BENCH line; exits 1 when a figure
misses its budget (live heap <= 72 KB, no MemoryError, no failed 8 KB check,
every refresh cycle < 4 KB, no record lost, MQTT state messages and discovery
configs received) or the day did not work; 2 when the VM or mosquitto is
missing (--no-mqtt runs without MQTT).
"""

import argparse
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tools/
from device_day import build  # noqa: E402

WIFI, READING, STOP, OK = 1, 2, 4, 8  # flags of an answer to the VM (vm/hw_time.py)
BOOT_MS = 2000  # virtual ms a reset takes
SAMPLE_FIELDS = ("live", "free", "frag_ok", "wdt_gap", "sleeps")


class VmOutput:
    """The VM's stdout and stderr, read by a thread: the log lines and the qstr snapshots."""

    def __init__(self, proc, boot, echo):
        self.lines = []
        self.modules = []  # sys.modules at the last sample
        self.qstrs = {}  # snapshot -> (qstrs, string bytes, pool bytes); samples numbered
        self.samples = 0
        self.boot = boot
        self.echo = echo
        self.thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self.thread.start()

    def _read(self, f):
        tag = None
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith("DAYM "):
                self.modules = line[5:].split()
                continue
            if line.startswith("DAYQ "):
                tag = line[5:]
                if tag == "sample":
                    self.samples += 1
                    tag = "sample%d" % self.samples
                continue
            m = re.match(
                r"qstr pool: n_pool=\d+, n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)", line
            )
            if m and tag:
                self.qstrs[tag] = tuple(int(x) for x in m.groups())
                tag = None
                continue
            self.lines.append(line)
            if self.echo:
                print("vm%d| %s" % (self.boot, line), flush=True)


class Day:
    """One simulated day: the VM booted (again after each reset), its exchanges answered."""

    def __init__(self, hours, seed, echo=False, lose=0, faults=True, mqtt=True):
        from device_day import world

        self.hours = hours
        self.end = int(hours * world.H)
        self.period = self.end // 24
        self.world = world.World(hours, seed, faults)
        self.ambient = None
        self.mqtt = mqtt
        self.broker = None
        self.listener = None
        self.config = None
        self._offline = 0  # "offline" status messages heard before the latest boot
        self.lose = lose
        self.echo = echo
        self.boots = []
        self.samples = []
        # (t ms, heap B (negative: estimated from requested bytes), requested B, boot, Ambient answers,
        # the module scanned, joined or re-authenticated during the cycle)
        self.cycles = []
        self._link = None
        self.made = []  # created ms of every record the app made
        self.resets = []  # (t ms, cause)
        self.post_timeouts = 0
        self.crashes = 0
        self.stopped = False
        self.ended = False

    def pool_bytes(self, n):
        return build.pool_bytes(self.pools, n)

    def app_heap(self, live, qstrs):
        """The app's share of a live heap with qstrs interned (harness included): without the
        harness's code, objects and strings, and without any qstr pool that only the harness's
        names made necessary (the device's app, with harness_q names fewer, would not have it)."""
        extra = self.pool_bytes(qstrs) - self.pool_bytes(qstrs - self.harness_q)
        return live - self.harness_net - extra

    def next_sample(self, t):
        return min((t // self.period + 1) * self.period, self.end)

    def run(self, tmp, strict=False):
        from device_day import world

        flash, stand = build.build(tmp)
        port = None
        if self.mqtt:  # before anything else starts: Missing when mosquitto is not installed
            self.broker = world.broker(tmp)
            self.broker.start()
            port = self.broker.port
        self.ambient = world.Ambient(self.world, self.lose)
        srv = None
        t0 = time.monotonic()
        try:
            if self.broker:
                self.listener = world.Listener(port)
            self.config = world.config(self.world.harness, self.ambient.url, port)
            build.write_config(flash, self.config)
            path = os.path.join(tmp, "link.sock")
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(path)
            srv.listen(1)
            srv.settimeout(60)
            env = dict(os.environ, MICROPYPATH=stand, DAY_FLASH=flash, DAY_STANDINS=stand, DAY_LINK=path)
            self.empty_vm, self.empty_q = build.empty_vm()
            self.pools = build.qstr_pools()
            cal = self._boot(srv, env, tmp, build.HEAP, "calibration")
            if "harness" not in cal["reports"] or "harness" not in cal["output"].qstrs:
                raise RuntimeError(
                    "the calibration boot reported nothing:\n" + "\n".join(cal["output"].lines[-20:])
                )
            # what the harness holds: its code, objects and qstrs. Its qstrs fill the first pools,
            # which the app's own first qstrs fill on the device: those pools count as the app's
            hq = cal["output"].qstrs["harness"][0]
            self.harness_q = hq - self.empty_q
            self.harness = cal["reports"]["harness"] - self.empty_vm
            self.harness_pools = self.pool_bytes(hq) - self.pool_bytes(self.empty_q)
            self.harness_net = self.harness - self.harness_pools
            self.strict = strict
            self.vm_heap = build.HEAP if strict else build.HEAP + self.harness_net
            cause = "power-on"
            while not self.ended:
                boot = self._boot(srv, env, tmp, self.vm_heap, cause)
                cause = boot["why"]
                if cause == "crash":
                    self.crashes += 1
                    if self.crashes > 3:
                        break
                if cause != "end":
                    self.resets.append((self.world.clk.now_ms, cause))
                    self.world.reset_uart()
                    self.world.advance(self.world.clk.now_ms + BOOT_MS)
            self._drain()
        finally:
            if srv is not None:
                srv.close()
            self.ambient.close()
            if self.listener is not None:
                self.listener.close()
            if self.broker is not None:
                self.broker.stop()
        self.seconds = time.monotonic() - t0

    def _drain(self):
        """Give what the app published the time to cross the broker: until the last VM's
        "offline" (its last will, or the polite close) arrived, at most a few real seconds."""
        lis = self.listener
        end = time.monotonic() + 3
        while lis is not None and time.monotonic() < end and lis.status.get("offline", 0) <= self._offline:
            time.sleep(0.05)

    def _boot(self, srv, env, tmp, heap, cause):
        """One VM process, served until it ends, resets or dies (the calibration boot: until it
        reported what the harness holds). boot["why"] says how it ended."""
        self._offline = self.listener.status.get("offline", 0) if self.listener else 0
        proc = subprocess.Popen(
            [build.VM, "-X", "heapsize=%d" % heap, "-m", "day_boot"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
        boot = {"reports": {}, "cause": cause, "t": self.world.clk.now_ms, "heap": heap}
        boot["output"] = VmOutput(proc, len(self.boots), self.echo)
        if cause != "calibration":
            self.boots.append(boot)
        try:
            conn, _ = srv.accept()
        except TimeoutError:
            proc.kill()
            raise RuntimeError("the VM never connected:\n" + "\n".join(boot["output"].lines[-20:])) from None
        conn.settimeout(300)
        why = self._serve(conn, boot)
        if why != "end":
            proc.kill()  # a reset: gone before it notices the link closing
        conn.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        boot["output"].thread.join(timeout=10)
        boot["exit"] = proc.returncode
        boot["why"] = why
        return boot

    def _serve(self, conn, boot):
        """Answer the VM's exchanges (vm/hw_time.py xfer) until it ends, resets or dies."""
        w = self.world
        amb = self.ambient
        assert amb is not None
        f = conn.makefile("rb")
        while True:
            hdr = f.read(12)
            if len(hdr) < 12:
                return "end" if self.ended else "crash"
            op, _, n, t, a = struct.unpack("<BBHII", hdr)
            data = f.read(n) if n else b""
            t = max(t, w.clk.now_ms)
            amb.vm_now = t
            if w.advance(t) == "reboot":
                return "reboot"
            flags = WIFI if w.wifi_up(t) else 0
            payload = b""
            out_t = t
            ans = 0
            if op == 65:  # A: what the receive buffer holds
                pass
            elif op == 82:  # R: a bytes from it
                payload, reading = w.read(a)
                if reading:
                    flags |= READING
            elif op == 87:  # W: bytes to the module
                w.mod.uart.write(data)
                w.advance(t)
            elif op == 67:  # C: a refresh cycle ended
                b, r = struct.unpack("<ii", data)
                st = w.mod.stats
                link = (st["joins"], st["reauths"], len(st["scans"]))  # the module joined, scanned ...
                self.cycles.append((t, b, r, len(self.boots) - 1, amb.take_pending(), link != self._link))
                self._link = link
            elif op == 80:  # P: a request starts (amb.vm_now is set)
                pass
            elif op == 84:  # T: a request timed out
                self.post_timeouts += 1
            elif op == 68:  # D: a record made
                self.made.append(struct.unpack("<q", data)[0])
            elif op == 78:  # N: NTP
                wall = w.clk.wall()
                if flags & WIFI and wall is not None:
                    flags |= OK
                    ans = wall - 946684800  # the ESP32's RTC counts from 2000
            elif op == 83:  # S: a sample
                s: dict[str, int] = dict(zip(SAMPLE_FIELDS, struct.unpack("<5i", data), strict=True))
                s["t"] = t
                s["uptime"] = a
                s["boot"] = len(self.boots) - 1
                self.samples.append(s)
                if t >= self.end:
                    flags |= STOP
                    self.stopped = True
                    ans = 0x3FFFFFFF
                else:
                    ans = self.next_sample(t)
            elif op == 72:  # H: a boot says hello
                out_t = w.clk.now_ms
                ans = self.next_sample(out_t)
            elif op == 75:  # K: a figure
                boot["reports"][data.decode()] = a
                if boot["cause"] == "calibration" and data == b"harness":
                    return "calibrated"
            elif op == 85:  # U: the UART's receive buffer size
                w.rxbuf = a
            elif op == 88:  # X: a reset
                return {1: "machine.reset()", 2: "machine.soft_reset()", 3: "watchdog"}.get(a, "reset")
            elif op == 69:  # E: the day is over
                self.ended = True
            else:
                raise RuntimeError("unknown op %d from the VM" % op)
            head = struct.pack("<BBHIIII", flags, 0, len(payload), out_t, len(w.held), w.next_change(t), ans)
            conn.sendall(head + payload)
            if self.ended:
                return "end"


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the raw result as JSON after the report")
    ap.add_argument("--log", action="store_true", help="echo the VM's output while it runs")
    ap.add_argument("--no-anatomy", action="store_true", help="skip the per-module heap breakdown")
    ap.add_argument(
        "--no-mqtt",
        action="store_true",
        help="no mqtt section in the config and no broker (without it the day needs mosquitto:"
        " apt-get install -y mosquitto; missing, it exits 2)",
    )
    ap.add_argument(
        "--strict-heap",
        action="store_true",
        help="-X heapsize=111936 with the harness inside (the app gets less)",
    )
    ap.add_argument(
        "--vm",
        metavar="PATH",
        help="the MicroPython binary (default: $MICROPYTHON_ESP32LIKE, else %s)" % os.path.relpath(build.VM),
    )
    ap.add_argument("--tree", metavar="DIR", help="run the app of another checkout (e.g. a git archive)")
    ap.add_argument("--keep", metavar="DIR", help="build and run in DIR and keep it (flash files, .mpy)")
    args = ap.parse_args(argv)
    build.use_tree(args.tree or build.ROOT)
    vm = args.vm or os.environ.get("MICROPYTHON_ESP32LIKE")
    if vm:
        build.VM = os.path.abspath(vm)
    from device_day import report, world

    try:
        build.check_vm()
        if not args.no_mqtt:
            world.mosquitto.check()
    except build.Missing as e:
        print("device_day: %s" % e)
        print(report.bench_line(None))
        return 2
    except world.mosquitto.Missing as e:
        print("device_day: %s, or run with --no-mqtt" % e)
        print(report.bench_line(None))
        return 2
    tmp = args.keep or tempfile.mkdtemp(prefix="device_day-")
    os.makedirs(tmp, exist_ok=True)
    try:
        day = Day(args.hours, args.seed, echo=args.log, mqtt=not args.no_mqtt)
        day.run(tmp, strict=args.strict_heap)
        r = report.results(day)
        if not args.no_anatomy and r["modules"]:
            from device_day import anatomy

            r["anatomy"] = anatomy.measure(tmp, r["modules"])
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(report.report(r))
    if args.json:
        print(json.dumps(r, default=str))
    return 1 if report.problems(r) else 0


if __name__ == "__main__":
    sys.exit(main())
