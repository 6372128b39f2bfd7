"""The hardware watchdog while no app feeds it: fed from a machine.Timer, so the REPL stays usable.

A MicroPython watchdog cannot be stopped once started, and a soft reset (Ctrl-D,
or mpremote before its first command) keeps it running but deletes every Timer.
So device.run() calls start() when the app ends on Ctrl-C, /boot.py calls
start() after every soft reset, and device.run() calls stop() just before the
app feeds the watchdog itself. After a soft reset nothing tells whether a
watchdog runs: start() then starts one (with TIMEOUT_MS), which the Timer keeps fed.
"""

import machine

TIMEOUT_MS = 60000  # device.WDT_MS
PERIOD_MS = 5000  # the Timer feeds this often; callbacks run between bytecodes, also at the REPL prompt
_timer = None


def start(wdt=None):
    """Feed wdt (default: machine.WDT(timeout=TIMEOUT_MS)) every PERIOD_MS from Timer 0."""
    global _timer
    if _timer is not None:
        return
    if wdt is None:
        wdt = machine.WDT(timeout=TIMEOUT_MS)
    feed = wdt.feed
    _timer = machine.Timer(0)
    _timer.init(period=PERIOD_MS, mode=machine.Timer.PERIODIC, callback=lambda t: feed())


def stop():
    """Stop the Timer: from now on the caller feeds the watchdog."""
    global _timer
    if _timer is not None:
        _timer.deinit()
        _timer = None
