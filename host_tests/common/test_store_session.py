"""Store and session on CPython and MicroPython (plain asserts; run by pytest and tools/mptest.py).

The session tests need the simulator (sim/ on sys.path): pytest's conftest
adds it; on MicroPython `make test-mp` must copy sim/ into the VM
(--dir sim:/sim --path /sim). Without it they report themselves skipped.
"""

import os

import log
import store

try:
    import tempfile

    TMP = tempfile.gettempdir()
except ImportError:  # MicroPython
    TMP = "/tmp"

try:
    import bp35a1
    import harness
except ImportError:
    harness = None


def _path(name):
    p = TMP + "/" + name
    for f in (p, p + ".tmp"):
        try:
            os.remove(f)
        except OSError:
            pass
    return p


def test_store_roundtrip_and_dirty():
    p = _path("sm_store_a.json")
    s = store.Store(p)
    assert s.get("pan") is None and s.get("x", 5) == 5 and not s.dirty
    s.set("pan", {"channel": "2F", "pan_id": "A0E6"})
    s.set("baseline", [2024, 11, 5, 123456, None, 2024, 11, 22])
    assert s.dirty
    assert s.save() and not s.dirty
    s.set("pan", {"channel": "2F", "pan_id": "A0E6"})  # unchanged: nothing to write
    assert not s.dirty
    t = store.Store(p)
    assert t.get("pan") == {"channel": "2F", "pan_id": "A0E6"}
    assert t.get("baseline") == [2024, 11, 5, 123456, None, 2024, 11, 22]
    t.delete("pan")
    t.delete("missing")
    assert t.save()
    assert store.Store(p).get("pan") is None


def test_store_corrupt_or_missing_is_empty():
    p = _path("sm_store_b.json")
    assert store.Store(p).get("a") is None
    for junk in ("{not json", "[1, 2]", "", "\x00\xff"):
        with open(p, "w") as f:
            f.write(junk)
        s = store.Store(p)
        assert s.get("a") is None
        s.set("a", 1)
        assert s.save()
        assert store.Store(p).get("a") == 1


def test_store_recovers_from_an_interrupted_save():
    p = _path("sm_store_c.json")
    with open(p + ".tmp", "w") as f:  # the rename never happened, the old file is gone
        f.write('{"a": 2}')
    assert store.Store(p).get("a") == 2


def test_store_failed_save_keeps_the_old_file():
    p = _path("sm_store_d.json")
    s = store.Store(p)
    s.set("a", 1)
    assert s.save()
    bad = store.Store(TMP + "/no_such_dir_sm/x.json")
    bad.set("a", 1)
    assert bad.save() is False and bad.dirty
    assert store.Store(p).get("a") == 1


def _world_session(path, world=None, **kw):
    world = world or harness.World()
    s = world.session(store.Store(path), **kw)
    return world, s


def test_session_cold_then_warm_boot():
    if harness is None:
        print("skipped: sim/ is not on sys.path")
        return
    lines = []
    log.set_sink(lines.append)
    try:
        p = _path("sm_session.json")
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
