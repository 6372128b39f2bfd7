"""Bytes the session driver (+ codec) allocates per refresh, on real MicroPython.

Run by tools/bench.py through the webassembly build:
  node tools/mpwasm/run.mjs --dir lib:/lib --dir sim:/sim --path /sim tools/bench_alloc.py [REFRESHES]
The collector is disabled; gc.mem_alloc() deltas are taken around the
driver's poll() calls only, minus what the simulator itself allocates
inside the UART and clock calls the driver makes. Prints one JSON line.
"""

import gc
import json
import sys

import harness
import log
import store

mem_alloc = getattr(gc, "mem_alloc")  # noqa: B009  (MicroPython only)

try:
    from _mpargv import ARGV  # pyright: ignore[reportMissingImports]
except ImportError:
    ARGV = sys.argv


class Metered:
    """Wraps the simulator's UART and clock, counting their own allocations."""

    def __init__(self, uart, clock):
        self._u = uart
        self._c = clock
        self.sim = 0
        self.any_checks = 200  # any() is metered until it proved allocation-free this often

    def any(self):
        if self.any_checks <= 0:  # mem_alloc() walks the heap: ~4 ms a call on the wasm build
            return self._u.any()
        a = mem_alloc()
        n = self._u.any()
        d = mem_alloc() - a
        self.sim += d
        self.any_checks = 200 if d else self.any_checks - 1
        return n

    def readinto(self, buf):
        a = mem_alloc()
        n = self._u.readinto(buf)
        self.sim += mem_alloc() - a
        return n

    def write(self, buf):
        a = mem_alloc()
        n = self._u.write(buf)
        self.sim += mem_alloc() - a
        return n

    def ticks_ms(self):
        return self._c.ticks_ms()

    def wall(self):
        a = mem_alloc()
        w = self._c.wall()
        self.sim += mem_alloc() - a
        return w


def main():
    refreshes = int(ARGV[1]) if len(ARGV) > 1 else 30
    log.set_sink(lambda s: None)
    world = harness.World()
    m = Metered(world.module.uart, world.clock)
    import session

    s = session.Session(
        m, m.ticks_ms, store.Store("/tmp/bench_alloc.json"), harness.bp35a1.DEFAULT_ID,
        harness.bp35a1.DEFAULT_PASSWORD, reading_day=22, wall=m.wall,
    )  # fmt: skip
    # boot, first reading, D3/E1/D7 and the baseline: not the steady state
    world.run(s, 60000)
    assert s.reading is not None, "no reading"
    gc.collect()
    gc.disable()
    stats = {"driver": 0, "polls": 0, "max_poll": 0}
    reads = [0]
    reading = s.reading
    last_t = [reading.t]
    per_cycle = []
    cycle = [0]

    def measured_run(until):
        mod = world.module
        clk = world.clock
        while clk.now_ms < until:
            mod.update()
            s0 = m.sim
            a = mem_alloc()
            s.poll()
            d = mem_alloc() - a - (m.sim - s0)
            stats["driver"] += d
            stats["polls"] += 1
            cycle[0] += d
            if d > stats["max_poll"]:
                stats["max_poll"] = d
            if reading.t != last_t[0]:
                last_t[0] = reading.t
                reads[0] += 1
                per_cycle.append(cycle[0])
                cycle[0] = 0
            target = clk.now_ms + s.wait_ms()
            nxt = mod.next_event_ms()
            if nxt is not None and nxt < target:
                target = nxt
            if target > clk.now_ms:
                clk.advance_to(min(target, until))
            if mem_alloc() > 4000000:
                gc.collect()  # between polls: deltas inside poll stay exact

    measured_run(world.clock.now_ms + refreshes * 10000)
    gc.enable()
    n = reads[0]
    per_cycle.sort()
    print(
        json.dumps(
            {
                "refreshes": n,
                "bytes_per_refresh": stats["driver"] // n if n else None,
                "max_cycle": per_cycle[-1] if per_cycle else None,
                "median_cycle": per_cycle[len(per_cycle) // 2] if per_cycle else None,
                "polls": stats["polls"],
                "max_poll": stats["max_poll"],
                "requests": s.counters["requests"],
                "timeouts": s.counters["timeouts"],
            }
        )
    )


main()
