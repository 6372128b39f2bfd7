"""The demo configuration and the app loop on the virtual clock: one of each, for tests and tools.

doc(ambient_url=None, **over) is the demo SmartMeter.json as a dict: the
simulator's B-route ID and password, 40 A, reading day 22, the tepco_b
tariff, no night window; with ambient_url, Ambient channel 1 at that address
every 30 s with WRITE_KEY. over replaces top-level keys (a value of None
removes the key). config(...) is the same loaded by lib/app/config.py.

app(cfg, world, folder, **kw) is an App on a sim/harness World (its
module's UART, its virtual clock) keeping its state and backlog files in
folder. run_app(app, clock, ms, module=None, stop=None) steps an App for ms of
virtual time (clock: sim/clock.VirtualClock), jumping from event to event:
the earlier of what step() asks for and the simulated module's next event.
Runs on CPython and MicroPython.
"""

import json

WRITE_KEY = "0123456789abcdef"  # the demo Ambient write key (16 hex digits)
CHANNEL = "1"


def doc(ambient_url=None, rbid=None, password=None, **over):
    """The demo config as a dict (rbid/password default to the simulator's, sim/bp35a1.py)."""
    if rbid is None or password is None:
        import bp35a1

        rbid = rbid or bp35a1.DEFAULT_ID
        password = password or bp35a1.DEFAULT_PASSWORD
    d = {
        "id": rbid,
        "password": password,
        "contract_amperage": "40",
        "collect_date": "22",
        "charge_func": "tepco_b",
    }
    if ambient_url:
        d["ambient"] = {"channel_id": CHANNEL, "write_key": WRITE_KEY, "url": ambient_url, "interval": 30}
    for k in over:
        if over[k] is None:
            d.pop(k, None)
        else:
            d[k] = over[k]
    return d


def config(ambient_url=None, device=False, **over):
    """doc(...) loaded and checked by lib/app/config.py."""
    from app import config as _config

    return _config.load(json.dumps(doc(ambient_url, **over)), device)


def app(cfg, world, folder, **kw):
    """An App for cfg on world (sim/harness.World): its UART and clock; state.json and backlog in
    folder (a path); kw: the App's other arguments (http_post, mqtt, history_path, ...)."""
    from app import loop

    folder = str(folder)
    c = world.clock
    return loop.App(
        cfg,
        world.module.uart,
        c.ticks_ms,
        c.wall,
        state_path=folder + "/state.json",
        backlog_path=folder + "/backlog",
        **kw,
    )


def run_app(app, clock, ms, module=None, stop=None):
    """Step app for ms of virtual time; True when stop() ended the run.

    module (sim/bp35a1.Module) is updated before each step and its next
    event bounds the jump; when time would not move for 50 steps it moves
    1 ms. Without a module each step moves time at least 1 ms. An answer of
    step() outside 0..1000 ms raises AssertionError.
    """
    end = clock.now_ms + ms
    spins = 0
    while clock.now_ms < end:
        if module is not None:
            module.update()
        wait = app.step()
        if not 0 <= wait <= 1000:
            raise AssertionError("step() asked to sleep %r ms" % (wait,))
        if stop is not None and stop():
            return True
        now = clock.now_ms
        target = now + wait
        if module is None:
            if wait < 1:
                target = now + 1
        else:
            nxt = module.next_event_ms()
            if nxt is not None and nxt < target:
                target = nxt
        if target > end:
            target = end
        if target <= now:
            spins += 1
            if spins < 50:
                continue
            target = now + 1
        spins = 0
        clock.advance_to(target)
    return False
