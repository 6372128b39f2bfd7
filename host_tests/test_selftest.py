"""firmware/selftest.py (make selftest) on CPython: the stand-in hardware of test_app_device.py, the real
board, wifi and netclock modules, and the BP35A1 simulator answering SKVER and SKINFO. It prints a table
to paste into a bug report, shows it on the LCD, never joins the meter and never prints a secret."""

import importlib
import json
import os

import pytest
from test_app_device import (
    PWD,
    RBID,
    WIFI_PW,
    WKEY,
    Device,
    config_doc,
    install,
    no_secret,
    uninstall,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_MAC = "001D129000035A1F"  # sim/bp35a1.py


def press(level, *buttons):
    def hook(dev):
        for b in buttons:
            dev.button_level[b] = level

    return hook


PRESS_A_THEN_B = [(2, press(0, 37)), (2.3, press(1, 37)), (4, press(0, 39)), (4.3, press(1, 39))]


@pytest.fixture
def selftest(tmp_path, monkeypatch):
    """selftest(doc, hooks, setup) -> (failures, printed lines, Device)."""

    def _run(doc, hooks=(), setup=None, axp=True):
        path = tmp_path / "SmartMeter.json"
        if doc is not None:
            path.write_text(json.dumps(doc))
        dev = Device(str(tmp_path), 3600, hooks, axp)
        if setup is not None:
            setup(dev)
        install(dev, monkeypatch)
        out = []
        try:
            module = importlib.import_module("selftest")
            failures = module.main(paths=(str(path),), out=out.append)
        finally:
            uninstall()
        text = "\n".join(out)
        no_secret(text)
        no_secret(repr(dev.screens))
        return failures, out, dev

    return _run


def rows(out):
    """{check: (result, details)} from the printed table."""
    table = {}
    for line in out:
        if line.startswith("| ") and not line.startswith("| check"):
            check, result, details = line[2:-2].split(" | ", 2)
            table[check] = (result, details)
    return table


def test_everything_answers(selftest):
    failures, out, dev = selftest(config_doc(), PRESS_A_THEN_B)
    t = rows(out)
    assert failures == 0, out
    assert list(t) == [
        "firmware",
        "config",
        "board",
        "power",
        "lcd",
        "buttons",
        "bp35a1",
        "wifi",
        "dns",
        "ntp",
        "ambient",
    ]
    assert t["board"][0] == "ok" and t["board"][1].startswith("m5stickc, AXP192 at I2C 0x34, LCD 160x80")
    assert t["power"] == ("ok", "battery 4099 mV, USB (VBUS) 4999 mV, ACIN 0 mV")
    assert t["lcd"][0] == "look"
    assert t["buttons"] == ("ok", "A, then B, within 10 s")
    assert t["bp35a1"] == ("ok", "EVER 1.2.10, MAC %s (UART tx 0 rx 26, 115200)" % MODULE_MAC)
    assert t["wifi"][0] == "ok" and '"home", RSSI -61 dBm, 192.168.1.20' in t["wifi"][1]
    assert t["dns"][0] == "ok" and "pool.ntp.org 192.0.2.123" in t["dns"][1]
    assert "ambidata.io 198.51.100.7" in t["dns"][1]
    assert t["ntp"][0] == "ok" and t["ntp"][1].startswith("2025-12-03 01:0")  # 10:00 JST = 01:00 UTC
    assert t["ambient"][0] == "ok" and "HTTP 200" in t["ambient"][1]
    assert dev.heads == ("http://198.51.100.7/", {"Host": "ambidata.io"}), "answering: HEAD, nothing written"
    assert dev.posts == []
    assert out[-1] == "0 ok, 0 failed, 1 to check by eye, 0 skipped".replace("0 ok", "9 ok")


def test_never_joins_the_meter_and_sends_only_skver_and_skinfo(selftest):
    _, _, dev = selftest(config_doc(), PRESS_A_THEN_B)
    sent = [bytes(line).split()[0] for line in dev.world.module.lines]
    assert sent == [b"SKVER", b"SKINFO"]
    assert dev.world.module.stats.get("joins", 0) == 0


def test_lcd_shows_named_colour_bars_then_the_table(selftest):
    _, out, dev = selftest(config_doc(), PRESS_A_THEN_B)
    panel = dev.panels[0]
    bars = [s for s in dev.screens if any(t[0] == "red" for t in s)]
    assert bars, "colour bars with their names"
    names = {t[0]: t[3] for t in bars[0]}
    assert {"red": 4, "green": 4, "blue": 4, "white": 0}.items() <= names.items()  # black on the white bar
    assert panel.palette[1:5] == (0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF), "the bars' colours, named"
    assert any(t[0].startswith("press A") for t in bars[0]) and any(
        t[0].startswith("now B") for t in bars[-1]
    )
    table = dev.screens[-1]
    assert table[0][0] == "self-test: ok" and len(table) == 11 - 1  # the config row stays off the LCD
    assert all(y + 8 <= panel.height for _, _, y, _ in table), "every line fits the 80 px"
    assert [t[0].split()[-1] for t in table[1:]] == [
        "board",
        "power",
        "lcd",
        "buttons",
        "bp35a1",
        "wifi",
        "dns",
        "ntp",
        "ambient",
    ]


def test_failures_are_named(selftest, monkeypatch):
    """No button pressed, the module silent (wrong pins), Wi-Fi absent: each says what went wrong."""

    def silent(dev):
        dev.world.module.uart.write = lambda b: len(b)

    doc = config_doc(wifi=None, uart={"tx": 0, "rx": 36})
    failures, out, dev = selftest(doc, (), setup=silent)
    t = rows(out)
    assert t["buttons"] == ("FAIL", "A not pressed within 10 s")
    assert t["bp35a1"][0] == "FAIL" and "no answer to SKVER" in t["bp35a1"][1] and "rx 36" in t["bp35a1"][1]
    assert [t[c][0] for c in ("wifi", "dns", "ntp", "ambient")] == ["skip"] * 4
    assert failures == 2 and dev.screens[-1][0][0] == "self-test: 2 FAIL"


def test_missing_board_and_a_plus2(selftest):
    failures, out, dev = selftest(config_doc(board=None), PRESS_A_THEN_B, axp=False)
    t = rows(out)
    assert t["board"][0] == "FAIL" and "no AXP192 at I2C 0x34; board: missing" in t["board"][1]
    assert t["power"] == ("ok", "battery 3900 mV (ADC); USB not measurable")
    assert failures == 1


def test_no_config_file(selftest):
    failures, out, _ = selftest(None, PRESS_A_THEN_B)
    t = rows(out)
    assert t["config"][0] == "FAIL" and t["board"][0] == "FAIL" and t["wifi"][0] == "skip"


def test_the_secrets_are_registered_even_if_a_detail_carried_one(selftest):
    """Defence in depth: a detail that carried a credential (a library's error text) is scrubbed."""

    def leaky(dev):
        dev.head_error = OSError("refused for %s %s %s %s" % (WKEY, WIFI_PW, RBID, PWD))

    failures, out, dev = selftest(config_doc(), PRESS_A_THEN_B, setup=leaky)
    t = rows(out)
    assert t["ambient"][0] == "FAIL" and "***" in t["ambient"][1]


def test_make_selftest_mounts_every_module_selftest_imports():
    """The Makefile links these into build/selftest for `mpremote mount`: on a board without `make deploy`
    every import of the self-test and of the modules it uses must be among them (or built in)."""
    import re
    import subprocess

    r = subprocess.run(["make", "-n", "selftest", "PORT=/dev/null"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    linked = set(re.findall(r"/(\w+)\.py", r.stdout.split("ln -s", 1)[1].split("\n", 1)[0]))
    assert "mount -l build/selftest run firmware/selftest.py" in r.stdout
    builtin = {
        "gc",
        "json",
        "sys",
        "time",
        "machine",
        "micropython",
        "framebuf",
        "network",
        "socket",
        "ntptime",
        "requests",
        "binascii",
        "struct",
        "os",
    }
    todo, seen = ["selftest"], set()
    while todo:
        name = todo.pop()
        if name in seen or name in builtin:
            continue
        seen.add(name)
        assert name in linked, "%s is imported but not mounted" % name
        folder = "firmware" if os.path.exists(os.path.join(ROOT, "firmware", name + ".py")) else "lib"
        with open(os.path.join(ROOT, folder, name + ".py")) as f:
            src = f.read()
        todo += re.findall(r"^\s*import (\w+)", src, re.M) + re.findall(r"^\s*from (\w+) import", src, re.M)
    assert {"board", "st77xx", "buttons", "wifi", "netclock", "log", "ticks"} <= seen


# --- the same script on a device-shaped MicroPython ----------------------------------------------------

MP = os.environ.get(
    "MICROPYTHON_ESP32LIKE",
    os.path.join(os.path.dirname(ROOT), "shared", "tools", "micropython-esp32like", "micropython"),
)

STUBS = {
    "machine.py": r"""
LOG = []
POLLS = [0]  # reads of button A: one per Buttons.poll()


def _held(n):  # A held for polls 10-40 (the self-test polls every 10 ms), B for polls 60-90
    if n == 37:
        POLLS[0] += 1
    t = POLLS[0]
    return (n == 37 and 10 <= t < 40) or (n == 39 and 60 <= t < 90)


class Pin:
    IN = 1
    OUT = 3

    def __init__(self, n, mode=None, value=None):
        self.n = n
        LOG.append(("pin", n, mode, value))

    def __call__(self, v=None):
        pass

    def value(self, v=None):
        return 0 if _held(self.n) else 1


class I2C:
    REGS = {0x03: 0x03, 0x78: 0xE8, 0x79: 0x0F, 0x5A: 0xB7, 0x5B: 0x0D}

    def __init__(self, *a, **k):
        pass

    def readfrom_mem(self, addr, reg, n):
        if addr != 0x34:
            raise OSError(19)
        return bytes(self.REGS.get(reg + i, 0) for i in range(n))

    def readfrom_mem_into(self, addr, reg, buf):
        buf[:] = self.readfrom_mem(addr, reg, len(buf))

    def writeto_mem(self, addr, reg, buf):
        LOG.append(("i2cw", reg, bytes(buf)[0]))


class SPI:
    def __init__(self, *a, **k):
        self.n = 0

    def write(self, b):
        self.n += len(b)


class PWM:
    def __init__(self, *a, **k):
        pass


class UART:
    ANSWERS = {
        b"SKVER\r\n": b"SKVER\r\nEVER 1.2.10\r\nOK\r\n",
        b"SKINFO\r\n": b"SKINFO\r\nEINFO FE80:0000:0000:0000:021D:1290:0003:5A1F"
        b" 001D129000035A1F 21 8888 FFFE\r\nOK\r\n",
    }

    def __init__(self, n, **kw):
        LOG.append(("uart", kw["tx"], kw["rx"], kw["baudrate"]))
        self.out = b""

    def write(self, b):
        LOG.append(("sk", bytes(b)))
        self.out += self.ANSWERS.get(bytes(b), b"FAIL ER04\r\n")
        return len(b)

    def any(self):
        return len(self.out)

    def read(self, n=-1):
        b, self.out = self.out, b""
        return b or None
""",
    "network.py": r"""
STA_IF = 0


class WLAN:
    PM_NONE = 0

    def __init__(self, i):
        self.up = False

    def active(self, on=None):
        return True

    def config(self, **kw):
        pass

    def connect(self, ssid, password):
        self.up = True

    def disconnect(self):
        self.up = False

    def isconnected(self):
        return self.up

    def status(self, what=None):
        return -55

    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
""",
    "socket.py": r'''
from usocket import *  # the real sockets; names resolve to loopback, never through DNS
import usocket

LOOKUPS = []


def getaddrinfo(host, port, *a):
    """A name -> the ESP32 port's answer for 127.0.0.1 (its sockaddr is an (address, port) tuple);
    an address -> the unix port's own answer, which its sockets take."""
    LOOKUPS.append(host)
    if host[:1].isdigit():
        return usocket.getaddrinfo(host, port, *a)
    return [(2, 1, 0, "", ("127.0.0.1", port))]
''',
    "ntptime.py": r"""
host = "pool.ntp.org"
timeout = 1
SET = []


def settime():
    assert host == "127.0.0.1", host  # the cached address: no DNS inside ntptime
    SET.append(host)
""",
    "run_selftest.py": r"""
import gc, sys
import selftest
import machine, socket, ntptime
failures = selftest.main(paths=("SmartMeter.json",))
gc.collect()
print("LOOKUPS", socket.LOOKUPS, "NTP", ntptime.SET)
print("SK", [e[1] for e in machine.LOG if e[0] == "sk"])
print("CHARGER", [e[1:] for e in machine.LOG if e[0] == "i2cw" and e[1] in (0x30, 0x33)])
print("HEAP", gc.mem_alloc(), gc.mem_free())
sys.exit(failures)
""",
}


def test_selftest_runs_on_micropython(tmp_path):
    """The mounted files of `make selftest` (the Makefile's list) on MicroPython v1.27, 32-bit, the M5StickC's
    111,936-byte heap, real framebuf, frozen requests over a real socket to a local HTTP server."""
    import http.server
    import re
    import shutil
    import subprocess
    import threading

    assert os.path.exists(MP), "the esp32-like MicroPython is missing at %s (set MICROPYTHON_ESP32LIKE)" % MP
    r = subprocess.run(["make", "-n", "selftest", "PORT=/dev/null"], cwd=ROOT, capture_output=True, text=True)
    stage = tmp_path / "stage"
    stage.mkdir()
    for rel in re.findall(r"(?:firmware|lib)/\w+\.py", r.stdout.split("ln -s", 1)[1].split("\n", 1)[0]):
        shutil.copy(os.path.join(ROOT, rel), stage)
    for name, text in STUBS.items():
        (stage / name).write_text(text)

    class Head(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            Head.seen = (self.path, self.headers.get("Host"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Head)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    doc = config_doc(ambient={"channel_id": "3", "write_key": WKEY, "url": "http://ambidata.test:%d" % port})
    (stage / "SmartMeter.json").write_text(json.dumps(doc))
    try:
        env = dict(os.environ, MICROPYPATH=str(stage) + ":.frozen")
        cmd = [MP, "-X", "heapsize=111936", "run_selftest.py"]
        r = subprocess.run(cmd, cwd=stage, env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
    out = r.stdout.splitlines()
    no_secret(r.stdout + r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    t = rows(out)
    assert [v[0] for v in t.values()] == ["ok"] * 4 + ["look"] + ["ok"] * 6, out
    assert t["firmware"][1].startswith("micropython 1.27.0")
    assert t["bp35a1"][1] == "EVER 1.2.10, MAC %s (UART tx 0 rx 26, 115200)" % MODULE_MAC
    assert Head.seen == ("/", "ambidata.test:%d" % port)
    extra = dict(line.split(" ", 1) for line in out if line[:1].isupper() and " " in line)
    assert extra["LOOKUPS"] == "['pool.ntp.org', 'ambidata.test', '127.0.0.1'] NTP ['127.0.0.1']"
    assert extra["SK"] == "[b'SKVER\\r\\n', b'SKINFO\\r\\n']"
    assert extra["CHARGER"] == "[(51, 192), (48, 128)]"
    print("self-test heap on MicroPython (alloc, free):", extra["HEAP"])
