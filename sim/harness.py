"""Drive a session against the simulated module on the virtual clock.

run(session, module, until_ms=None, stop=None) jumps the clock from event
to event: the earlier of what the session asks for (wait_ms()) and what
the module does next (next_event_ms()), so a simulated day takes seconds.
World bundles a clock, a meter model and a module for tests and tools.
"""

import bp35a1
import clock as vclock
import meter_model

# 2024-11-22 10:00:00 JST
DEFAULT_START = 1732237200


def run(session, module, until_ms=None, stop=None, on_poll=None):
    """Poll session until clock.now_ms >= until_ms or stop() is true.

    Returns True when stop() ended the run. on_poll(), if given, is called
    after every poll (for measurements).
    """
    clk = module.clock
    spins = 0
    while True:
        module.update()
        session.poll()
        if on_poll is not None:
            on_poll()
        if stop is not None and stop():
            return True
        now = clk.now_ms
        if until_ms is not None and now >= until_ms:
            return False
        target = now + session.wait_ms()
        nxt = module.next_event_ms()
        if nxt is not None and nxt < target:
            target = nxt
        if until_ms is not None and target > until_ms:
            target = until_ms
        if target <= now:
            spins += 1
            if spins < 50:
                continue
            target = now + 1  # the session keeps asking for 0 ms: let time pass
        spins = 0
        clk.advance_to(target)


class World:
    """A virtual clock, a meter and a module wired together.

    meter_kw go to MeterModel (solar, wires, reverse, d3, digits, ...);
    module_kw to bp35a1.Module (dialect, latency_ms, binary, rbid, ...).
    """

    def __init__(self, start=DEFAULT_START, seed=1, meter_kw=None, module_kw=None, start_ticks=0):
        self.clock = vclock.VirtualClock(start_ticks=start_ticks, wall=start)
        self.meter = meter_model.MeterModel(start, seed=seed, **(meter_kw or {}))
        self.module = bp35a1.Module(self.clock, self.meter, seed=seed, **(module_kw or {}))
        self.faults = self.module.faults

    def session(self, store, rbid=bp35a1.DEFAULT_ID, password=bp35a1.DEFAULT_PASSWORD, wall=True, **kw):
        """A Session on this world's UART and clock (wall=False: no wall clock)."""
        import session

        return session.Session(
            self.module.uart,
            self.clock.ticks_ms,
            store,
            rbid,
            password,
            wall=self.clock.wall if wall else None,
            **kw,
        )

    def run(self, session, ms=None, stop=None):
        """Run for ms (or until stop()); True when stop() ended it."""
        until = None if ms is None else self.clock.now_ms + ms
        return run(session, self.module, until, stop)

    def meter_time(self):
        return self.module.meter_time(self.clock.now_ms)
