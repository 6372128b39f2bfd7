"""Helpers shared by the session tests (no tests here).

Rig: a simulated world (clock, meter, module) plus a store file and a
Session, with every log line captured at DEBUG level; reboot() makes a new
Session on the same store (the module keeps running, as the HAT does when
the M5StickC resets). check_secrets() fails if a credential shows up in a
log line or in anything the session exposes.
"""

import bp35a1
import harness
import log
import pytest
import store

ID = bp35a1.DEFAULT_ID
PASSWORD = bp35a1.DEFAULT_PASSWORD
SECRETS = (ID, PASSWORD, ID[-8:])


class Rig:
    def __init__(self, path, meter_kw=None, module_kw=None, start=harness.DEFAULT_START, start_ticks=0, **kw):
        self.world = harness.World(
            start=start, meter_kw=meter_kw, module_kw=module_kw, start_ticks=start_ticks
        )
        self.module = self.world.module
        self.meter = self.world.meter
        self.faults = self.world.faults
        self.clock = self.world.clock
        self.path = path
        self.lines = []
        self.kw = kw
        self.sessions = []
        self.session = self.boot()

    def boot(self, **kw):
        """A new Session on the same store file (a device reboot)."""
        args = dict(self.kw)
        args.update(kw)
        s = self.world.session(store.Store(self.path), **args)
        self.sessions.append(s)
        self.session = s
        return s

    def run(self, ms=None, stop=None):
        return self.world.run(self.session, ms, stop)

    def until(self, cond, limit_ms=300000):
        """Run until cond(); the simulated ms it took (fails after limit_ms)."""
        t0 = self.clock.now_ms
        assert self.world.run(self.session, limit_ms, cond), "condition not met within %d ms" % limit_ms
        return self.clock.now_ms - t0

    def first_reading(self, limit_ms=300000):
        s = self.session
        return self.until(lambda: s.reading is not None and s.state == "ready", limit_ms)

    def next_reading(self, limit_ms=60000):
        s = self.session
        t = s.reading.t if s.reading else None
        return self.until(lambda: s.reading is not None and s.reading.t != t, limit_ms)

    def sent(self, esv=None, epc=None):
        """ECHONET requests the meter received (recent 64), filtered by ESV / EPC."""
        return [
            r for r in self.module.requests if (esv is None or r[2] == esv) and (epc is None or epc in r[3])
        ]

    def count(self, esv, epc=None):
        """How many requests with esv (asking for epc) the meter received in all."""
        if epc is None:
            return self.module.esv_counts.get(esv, 0)
        return self.module.epc_counts.get((esv, epc), 0)

    def last_read(self):
        reads = self.sent(0x62, 0xE7)
        assert reads, "no Get E7 reached the meter"
        return reads[-1]

    def expect_model(self):
        """The session's reading equals the meter model at the last read request."""
        r = self.session.reading
        reads = [q for q in self.module.requests if q[1] == r.tid and q[2] == 0x62]
        assert reads, "the request answered by TID %d is not in the meter's log" % r.tid
        t = reads[-1][4]
        m = self.meter
        assert r.power_w == m.power_w(t)
        cr, ct = m.current_da(t)
        assert r.current_r_da == cr
        assert r.current_t_da == ct
        assert r.cumulative_raw == m.raw(t)
        if self.session._scale is not None:  # D3/E1/D7 known
            assert r.cumulative_kwh == pytest.approx(m.kwh_of(m.raw(t)))
            if m.reverse:
                assert r.reverse_kwh == pytest.approx(m.kwh_of(m.raw(t, True)))
            else:
                assert r.reverse_kwh is None
        return t

    def commands(self, prefix):
        return [line for line in self.module.lines if line.startswith(prefix)]

    def check_secrets(self):
        for s in self.sessions:
            exposed = [s.status, s.error, repr(s.info), repr(s.counters), repr(s.state)]
            for text in self.lines + exposed:
                for secret in SECRETS:
                    assert secret not in str(text), "credential in %r" % (text,)


@pytest.fixture
def make_rig(tmp_path):
    rigs = []

    def make(**kw):
        rig = Rig(str(tmp_path / ("store%d.json" % len(rigs))), **kw)
        rigs.append(rig)
        log.set_sink(rig.lines.append)
        log.set_level(log.DEBUG)
        return rig

    yield make
    log.set_sink(print)
    log.set_level(log.INFO)
    for rig in rigs:
        rig.check_secrets()
