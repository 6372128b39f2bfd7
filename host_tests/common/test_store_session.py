"""The session over the store on CPython and MicroPython (plain asserts; run by pytest and tools/mptest.py).

The session tests need the simulator (sim/ on sys.path): pytest's conftest
adds it; `make test-mp` copies sim/ into the VM (--dir sim:/sim --path /sim)
and `make test-mp32` puts it on MICROPYPATH. Without it they are reported
as skipped (testkit.skip), never as passed. The store's own tests are in
test_store.py.
"""

import log
import store
from testkit import skip, tmp

try:
    import bp35a1
    import harness
except ImportError:  # sim/ is not on sys.path
    harness = None


def _world_session(path, world=None, **kw):
    world = world or harness.World()
    s = world.session(store.Store(path), **kw)
    return world, s


def test_session_cold_then_warm_boot():
    if harness is None:
        skip("needs sim/ on sys.path")
    lines = []
    log.set_sink(lines.append)
    try:
        p = tmp("sm_session.json")
        world, s = _world_session(p, reading_day=5)
        assert world.run(s, 60000, lambda: s.reading is not None)
        cold = world.clock.now_ms
        assert cold <= 25000
        m = world.meter
        t = world.module.requests[-1][4]
        assert s.reading.power_w == m.power_w(t) and s.reading.cumulative_raw == m.raw(t)
        assert world.run(s, 60000, lambda: s.period_kwh is not None)
        assert s.baseline == (2024, 11, 5)
        assert world.module.stats["flash_writes"] == 1
        # reboot: the module keeps running, the store keeps the PAN and the baseline
        t0 = world.clock.now_ms
        _, s2 = _world_session(p, world, reading_day=5)
        assert world.run(s2, 60000, lambda: s2.period_kwh is not None)
        assert world.clock.now_ms - t0 <= 8000
        assert world.module.stats["scans"] == [4]
        assert world.module.stats["flash_writes"] == 1
        assert s2.counters["requests"] == 2  # one read, D3/E1/D7: the baseline came from the store
    finally:
        log.set_sink(print)
    for line in lines:
        assert bp35a1.DEFAULT_ID not in line and bp35a1.DEFAULT_PASSWORD not in line
