"""One network call per app step (issue 11 §3): NTP, an Ambient request and an MQTT operation can
each block up to their timeout, so two in one step could outlast the watchdog. The one that does
not get the step's turn runs in the next step, a few ms later.

Plain asserts: pytest on CPython, tools/mptest.py on MicroPython.
"""

import demo
import log
from app import loop
from clock import VirtualClock
from test_app_loop import FakeSession, Net
from testkit import rmtree, tmpdir
from ticks import ticks_add, ticks_diff

T0 = 1767225600  # 2026-01-01 00:00:00 UTC


class Mqtt:
    """lib/mqtt Publisher stand-in: one operation whenever due and online, then due after 10 s."""

    def __init__(self, calls, clock):
        self.calls = calls
        self.clock = clock
        self.due = clock.ticks_ms()

    def poll(self, now, online, reading, figures):
        if ticks_diff(now, self.due) < 0:
            return
        if not online:
            self.due = ticks_add(now, 1000)
            return
        self.calls.append((self.clock.now_ms, "mqtt"))
        self.due = ticks_add(now, 10000)

    def close(self):
        pass


def test_one_network_call_per_step():
    log.set_sink(lambda line: None)
    d = tmpdir()
    clock = VirtualClock(start_ticks=(1 << 30) - 60000, wall=T0)  # ticks wrap during the run
    calls = []  # (virtual ms, "ntp" | "ambient" | "mqtt")

    def sync_time():  # never succeeds: retried at 0, 10, 30, 70, 150 s (doubling from 10 s)
        calls.append((clock.now_ms, "ntp"))
        return False

    def post(url, body, timeout_s):
        calls.append((clock.now_ms, "ambient"))
        return 200

    a = loop.App(
        demo.config("http://amb.test"),
        None,
        clock.ticks_ms,
        clock.wall,
        network=Net(),
        http_post=post,
        sync_time=sync_time,
        state_path=d + "/state.json",
        backlog_path=d + "/backlog",
        session=FakeSession(clock),  # a reading every 10 s
        mqtt=Mqtt(calls, clock),
    )
    try:
        steps = 0
        spins = 0
        while clock.now_ms < 200000:
            before = len(calls)
            wait = a.step()
            steps += 1
            assert len(calls) - before <= 1, calls[before:]  # never two network calls in a step
            spins = spins + 1 if wait == 0 else 0
            assert spins < 20  # a call that lost its turn goes in the next step, not never
            clock.advance(wait)
        ntp = [t for t, name in calls if name == "ntp"]
        amb = [t for t, name in calls if name == "ambient"]
        mqtt = [t for t, name in calls if name == "mqtt"]
        assert ntp == [0, 10000, 30000, 70000, 150000]  # NTP goes first when it is due
        assert len(amb) == 6 and amb[0] == 30000  # records at 30 s .. 180 s, each sent once
        # at 30 s all three were due: one per step, in the order NTP, Ambient, MQTT
        assert [name for t, name in calls if t == 30000] == ["ntp", "ambient", "mqtt"]
        assert 19 <= len(mqtt) <= 21 and mqtt[0] == 0 and a.amb.sent == 6
    finally:
        a.close()
        rmtree(d)
