"""The device (M5StickC family + Wi-SUN HAT): build the hardware, then run lib/app/loop.py.

run(root="") is what /main.py calls at boot. firmware/startup.py, loaded for
that one call, builds the board, reads root + /SmartMeter.json (a config with
problems is shown on the screen and in the log, and the device waits for a
fixed file instead of rebooting in a loop) and the App. Then: UART(1) to the BP35A1, Wi-Fi
with reconnects, NTP with retries, the hardware watchdog (fed by the app only
while it makes progress), Ambient posts over a raw socket to the cached address
(firmware/wifi.py; https:// through micropython-lib's requests, installed by `make deploy`),
MQTT (cfg has mqtt) through the frozen umqtt.simple
(firmware/mqtt_umqtt.py). Compiled to .mpy by the deploy step, so its
bytecode costs less RAM than a main.py compiled at boot.
"""

import gc
import time

import lazy
import log


def run(root=""):
    gc.collect()
    a, net, wdt, hw = lazy.call("startup", "app", root)  # hw: the board's pins stay referenced
    gc.collect()
    log.info("started: %d bytes free", gc.mem_free())
    last_gc = time.ticks_ms()
    errors = 0
    try:
        while True:
            if net.resolve() and a.healthy():  # a DNS lookup of its own, fed before the step that needs it
                wdt.feed()
            try:
                ms = a.step()
            except Exception as e:  # a bug: log it, keep going; the watchdog ends a real hang
                errors += 1
                if errors <= 5 or errors % 100 == 0:
                    log.error("loop: %r", e)
                ms = 1000
            if time.ticks_diff(time.ticks_ms(), last_gc) >= 5000:
                last_gc = time.ticks_ms()
                gc.collect()
            if ms > 0:
                time.sleep_ms(ms)
    except KeyboardInterrupt:  # Ctrl-C on the REPL (mpremote): end the session politely
        a.close()
        import watchdog

        watchdog.start(wdt)  # the REPL stays usable: a Timer feeds the watchdog
        raise
