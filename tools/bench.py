"""make bench: the session driver against the simulator (1.0 s meter latency).

Prints a Markdown table: simulated seconds per refresh, radio requests per
refresh, requests per hour in steady state (refresh every 10 s, monthly
kWh included), boot to first reading (warm: cached PAN; cold: scan), and
bytes allocated per refresh cycle by driver + codec on real MicroPython
(the webassembly build, tools/bench_alloc.py). Exits 1 when a target is
missed or a measurement fails.
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _sub in ("lib", "sim"):
    sys.path.insert(0, os.path.join(ROOT, _sub))

import harness  # noqa: E402
import log  # noqa: E402
import store  # noqa: E402

LATENCY_MS = 1000
READING_DAY = 5  # the period started 17 days before the simulated date: E5 = 17


def boots(path):
    """(cold ms, warm ms, world, session): boot to the first reading, twice."""
    world = harness.World(module_kw={"latency_ms": LATENCY_MS})
    s = world.session(store.Store(path), reading_day=READING_DAY)
    assert world.run(s, 300000, lambda: s.reading is not None), "no reading after a cold boot"
    cold = world.clock.now_ms
    world.run(s, 60000)
    world.module.power_cycle()  # the worst warm case: the module restarts too
    t0 = world.clock.now_ms
    s = world.session(store.Store(path), reading_day=READING_DAY)
    assert world.run(s, 300000, lambda: s.reading is not None), "no reading after a warm boot"
    return cold, world.clock.now_ms - t0, world, s


def refreshes(world, s, n=60):
    """(s per refresh: request -> reading, requests per refresh) over n steady refreshes."""
    world.run(s, 60000)  # D3/E1/D7 and the baseline are done
    sent0 = world.module.stats["sendto"]
    took = []
    seen = [s.reading.t]

    def watch():
        r = s.reading
        if r.t != seen[0]:
            seen[0] = r.t
            req = [q for q in world.module.requests if q[1] == r.tid and q[2] == 0x62]
            took.append(world.clock.now_ms - req[-1][0])

    harness.run(s, world.module, None, lambda: len(took) >= n, on_poll=watch)
    return sum(took) / len(took) / 1000.0, (world.module.stats["sendto"] - sent0) / len(took)


def per_hour(world, s, hours=24):
    """Radio requests per hour over a steady simulated day (incl. the daily baseline check)."""
    sent0 = world.module.stats["sendto"]
    world.run(s, hours * 3600 * 1000)
    assert s.period_kwh is not None, "no monthly kWh"
    return (world.module.stats["sendto"] - sent0) / hours


def alloc_on_micropython(n=30):
    cmd = [
        "node",
        os.path.join(ROOT, "tools", "mpwasm", "run.mjs"),
        "--dir",
        os.path.join(ROOT, "lib") + ":/lib",
        "--dir",
        os.path.join(ROOT, "sim") + ":/sim",
        "--path",
        "/sim",
        os.path.join(ROOT, "tools", "bench_alloc.py"),
        str(n),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    if r.returncode:
        raise RuntimeError("MicroPython run failed: %s" % (r.stderr.strip() or r.stdout.strip()))
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    log.set_sink(lambda line: None)
    with tempfile.TemporaryDirectory() as tmp:
        cold, warm, world, s = boots(os.path.join(tmp, "store.json"))
        secs, reqs = refreshes(world, s)
        hourly = per_hour(world, s)
    failed = []
    try:
        mp = alloc_on_micropython()
        per = mp["bytes_per_refresh"]
    except (OSError, RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        mp = None
        per = None
        failed.append("allocation: %s" % e)
    rows = [
        # metric, value text, ok, target, earlier monitor
        ("simulated seconds per refresh", "%.2f s" % secs, secs <= 1.2, "<= 1.2 s", "8.0 s"),
        ("radio requests per refresh", "%.2f" % reqs, reqs <= 1.0, "1", "2"),
        (
            "requests per hour, steady (refresh 10 s, monthly kWh)",
            "%.1f" % hourly,
            hourly <= 3600 / 10 + 1,
            "<= 361",
            "n/a",
        ),
        (
            "bytes allocated per refresh (MicroPython)",
            "n/a" if per is None else "%d B" % per,
            per is not None and per <= 2048,
            "<= 2 KB",
            "~11 KB",
        ),
        (
            "boot to first reading, warm (cached PAN)",
            "%.1f s" % (warm / 1000),
            warm <= 8000,
            "<= 8 s",
            "59.5 s",
        ),
        ("boot to first reading, cold (scan)", "%.1f s" % (cold / 1000), cold <= 25000, "<= 25 s", "59.5 s"),
    ]
    print("| metric | this driver | target | earlier monitor | |")
    print("|---|---|---|---|---|")
    for name, value, ok, target, earlier in rows:
        print("| %s | %s | %s | %s | %s |" % (name, value, target, earlier, "ok" if ok else "MISSED"))
        if not ok:
            failed.append(name)
    if mp:
        print()
        print(
            "MicroPython %d refreshes: per-cycle median %d B, max %d B; max in one poll %d B"
            % (mp["refreshes"], mp["median_cycle"], mp["max_cycle"], mp["max_poll"])
        )
    print("meter latency %d ms; one simulated day: %d requests/h" % (LATENCY_MS, round(hourly)))
    if failed:
        print("bench: target missed: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
