"""The device (M5StickC family + Wi-SUN HAT): build the hardware, then run lib/app/loop.py.

run(root="") is what /main.py calls at boot. It reads root + /SmartMeter.json;
a config with problems is shown on the screen and in the log, and the device
waits for a fixed file (polled every few seconds; button B pages through the
problems) instead of rebooting in a loop. Then: UART(1) to the BP35A1, Wi-Fi
with reconnects, NTP with retries, the hardware watchdog (fed by the app only
while it makes progress), Ambient posts through micropython-lib's requests
(installed by `make deploy`), MQTT (cfg has mqtt) through the frozen umqtt.simple
(firmware/mqtt_umqtt.py). Compiled to .mpy by the deploy step, so its
bytecode costs less RAM than a main.py compiled at boot.
"""

import gc
import sys
import time

import lazy
import log
import machine

WDT_MS = 60000  # over twice the longest blocking stretch between feeds (docs/hardware.md)
CONFIG_POLL_MS = 3000
BOARD_MISSING = 'board: missing; expected "m5stickc", "m5stickc_plus" or "m5stickc_plus2"'


class Paths:
    def __init__(self, root):
        self.config = root + "/SmartMeter.json"
        self.state = root + "/smartmeter.state.json"
        self.backlog = root + "/ambient.backlog"
        self.days = root + "/usage.days"  # the 30-minute history cache (lib/billing/usage.py)


def read_config(path):
    """(cfg, None, stamp) or (None, problems, stamp); drops the validator from RAM afterwards."""
    from app import config

    stamp = config.file_stamp(path)
    try:
        cfg = config.load_file(path, device=True)
        problems = None
        if _json_key(path, "board") is None:  # the validator's default would pick a panel
            cfg, problems = None, [BOARD_MISSING]
    except config.ConfigError as e:
        cfg = None
        problems = e.problems
    lazy.drop("app.config")
    gc.collect()
    return cfg, problems, stamp


def _json_key(path, key):
    """One top-level value of a JSON file, or None (for a config that may be broken)."""
    try:
        import json

        with open(path) as f:
            return json.load(f).get(key)
    except Exception:
        return None


def draw_problems(hw, problems, page):
    from app import loop
    from ui import screens

    screens.draw(hw.display, loop.config_error_view(problems, page), "config_error")
    hw.display.show()


def wait_for_config(hw, paths, problems, stamp):
    """Show the problems until the config file is fixed; returns the good config."""
    for p in problems:
        log.error("config: %s", p)
    log.error("fix %s (mpremote cp SmartMeter.json :SmartMeter.json); waiting", paths.config)
    page = 0
    draw_problems(hw, problems, page)
    last = time.ticks_ms()
    while True:
        time.sleep_ms(50)
        if hw.buttons.poll() == "b":
            page += 1
            draw_problems(hw, problems, page)
        if time.ticks_diff(time.ticks_ms(), last) < CONFIG_POLL_MS:
            continue
        last = time.ticks_ms()
        from app import config

        new = config.file_stamp(paths.config)
        lazy.drop("app.config")
        if new == stamp:
            continue
        cfg, problems, stamp = read_config(paths.config)
        if cfg is not None:
            log.info("config fixed")
            return cfg
        problems = problems or ["file: unreadable"]
        for p in problems:
            log.error("config: %s", p)
        page = 0
        draw_problems(hw, problems, page)


def run(root=""):
    gc.collect()
    import board

    paths = Paths(root)
    name = _json_key(paths.config, "board")
    hw = board.setup(name, flip=bool(_json_key(paths.state, "flip")))  # or a safe display and a problem
    del sys.modules["board"], board  # set-up code only: the drivers it built stay
    cfg, problems, stamp = read_config(paths.config)
    if hw.problem is not None:
        problems = [hw.problem] + [p for p in problems or () if p[:6] != "board:"]
        cfg = None
    if cfg is None:
        cfg = wait_for_config(hw, paths, problems or ["file: unreadable"], stamp)
        if cfg["board"] != hw.name:
            machine.soft_reset()  # another panel: start again with it
    if cfg["log_level"] == "debug":
        log.set_level(log.DEBUG)
    for w in cfg["warnings"]:
        log.warning("config: %s", w)
    gc.collect()

    import netclock
    import wifi

    u = cfg["uart"]
    uart = machine.UART(
        1, baudrate=115200, bits=8, parity=None, stop=1, tx=u["tx"], rx=u["rx"], timeout=0, rxbuf=2048
    )
    amb = cfg["ambient"]
    hosts = (netclock.HOST, wifi.host_of(amb["url"])) if amb else (netclock.HOST,)
    mq = cfg["mqtt"]
    if mq and mq["host"] not in hosts:
        hosts += (mq["host"],)  # resolved between steps like the others (firmware/wifi.py)
    net = wifi.Wifi(cfg["wifi"]["ssid"], cfg["wifi"]["password"], u["rx"] != 36, hosts)
    gc.collect()

    from app import loop

    pub = None
    if mq:
        try:
            import mqtt_umqtt  # over the firmware's frozen umqtt.simple

            pub = mqtt_umqtt.publisher(mq, net, time.ticks_ms())
        except ImportError:
            log.error("mqtt: umqtt.simple missing (mpremote mip install umqtt.simple); not publishing")
    import watchdog

    watchdog.stop()  # fed from a Timer since a soft reset (boot.py): from now on by the app
    lazy.drop("watchdog")
    del watchdog
    wdt = machine.WDT(timeout=WDT_MS)
    disp = hw.display
    a = loop.App(
        cfg,
        uart,
        time.ticks_ms,
        netclock.wall,
        fb=disp,
        show=disp.show,
        buttons=hw.buttons.poll,
        network=net,
        http_post=net.http_post,
        state_path=paths.state,
        backlog_path=paths.backlog,
        history_path=paths.days,
        set_brightness=disp.brightness,
        set_flip=disp.set_orientation,
        feed=wdt.feed,
        sync_time=net.sync_time,
        mem_free=gc.mem_free,
        mqtt=pub,
    )
    cfg = None
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
