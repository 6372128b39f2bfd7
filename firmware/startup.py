"""The device's start-up, loaded for one call by firmware/device.py (lib/lazy.py) and dropped.

app(root) builds the board (display, buttons), reads root + /SmartMeter.json
(a config with problems is shown on the screen and in the log, and the device
waits for a fixed file, polled every few seconds; button B pages through the
problems), then UART(1) to the BP35A1, Wi-Fi, the hardware watchdog, MQTT (cfg
has mqtt) and the App. Only what the loop needs stays in RAM.
"""

import gc
import sys
import time

import lazy
import log
import machine
from micropython import const

_WDT_MS = const(60000)  # over twice the longest blocking stretch between feeds (docs/hardware.md)
_CONFIG_POLL_MS = const(3000)
_BOARD_MISSING = const('board: missing; expected "m5stickc", "m5stickc_plus" or "m5stickc_plus2"')


def read_config(path):
    """(cfg, None, stamp) or (None, problems, stamp); drops the validator (and the tariff code it
    checks the tariff with) from RAM afterwards."""
    before = lazy.loaded()
    from app import config

    stamp = config.file_stamp(path)
    try:
        cfg = config.load_file(path, device=True)
        problems = None
        if _json_key(path, "board") is None:  # the validator's default would pick a panel
            cfg, problems = None, [_BOARD_MISSING]
    except config.ConfigError as e:
        cfg = None
        problems = e.problems
    lazy.forget(before)
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
    from ui import config_error, screens

    screens.draw(hw.display, config_error.make_view(problems, page), "config_error")
    hw.display.show()


def wait_for_config(hw, path, problems, stamp):
    """Show the problems until the config file is fixed; returns the good config."""
    for p in problems:
        log.error("config: %s", p)
    log.error("fix %s (mpremote cp SmartMeter.json :SmartMeter.json); waiting", path)
    page = 0
    draw_problems(hw, problems, page)
    last = time.ticks_ms()
    while True:
        time.sleep_ms(50)
        if hw.buttons.poll() == "b":
            page += 1
            draw_problems(hw, problems, page)
        if time.ticks_diff(time.ticks_ms(), last) < _CONFIG_POLL_MS:
            continue
        last = time.ticks_ms()
        from app import config

        new = config.file_stamp(path)
        lazy.drop("app.config")
        if new == stamp:
            continue
        cfg, problems, stamp = read_config(path)
        if cfg is not None:
            log.info("config fixed")
            return cfg
        problems = problems or ["file: unreadable"]
        for p in problems:
            log.error("config: %s", p)
        page = 0
        draw_problems(hw, problems, page)


def app(root):
    """(App, Wifi, WDT, Board): the app built and the watchdog started, ready for the loop."""
    gc.collect()
    import board

    path = root + "/SmartMeter.json"
    state = root + "/smartmeter.state.json"
    name = _json_key(path, "board")
    # the display (or a safe one and a problem) and the buttons; an eighth of the frame buffer
    hw = board.setup(name, flip=bool(_json_key(state, "flip")), banded=True)
    del sys.modules["board"], board  # set-up code only: the drivers it built stay
    cfg, problems, stamp = read_config(path)
    if hw.problem is not None:
        problems = [hw.problem] + [p for p in problems or () if p[:6] != "board:"]
        cfg = None
    if cfg is None:
        cfg = wait_for_config(hw, path, problems or ["file: unreadable"], stamp)
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
    wdt = machine.WDT(timeout=_WDT_MS)
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
        state_path=state,
        backlog_path=root + "/ambient.backlog",
        history_path=root + "/usage.days",  # the 30-minute history cache (lib/billing/usage.py)
        set_brightness=disp.brightness,
        set_flip=disp.set_orientation,
        feed=wdt.feed,
        sync_time=net.sync_time,
        mem_free=gc.mem_free,
        mqtt=pub,
    )
    return a, net, wdt, hw
