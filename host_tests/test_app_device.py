"""firmware/device.py (what /main.py runs at boot) on CPython, with stand-ins for machine, network,
ntptime, requests, gc and the board, and the BP35A1 + meter simulator as the UART: the device's own
start-up, config wait, Wi-Fi/NTP, watchdog and Ambient path, on the virtual clock."""

import importlib
import json
import os
import sys
import types

import canvas
import harness
import log
import pytest
import ticks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
RBID = harness.bp35a1.DEFAULT_ID
PWD = harness.bp35a1.DEFAULT_PASSWORD
WKEY = "00112233aabbccdd"
WIFI_PW = "wifi-pass-phrase"
START = 1764723600  # 2025-12-03 10:00 JST


class Device:
    """The stand-in hardware around one simulated world."""

    def __init__(self, root, limit_s, hooks=()):
        self.world = harness.World(start=START, seed=5)
        self.clock = self.world.clock
        self.root = root
        self.limit_ms = limit_s * 1000
        self.hooks = sorted(hooks)  # [(virtual s, fn)]
        self.ntp_set = False
        self.wifi_down = False
        self.wifi_connects = []
        self.connected_at = None
        self.feeds = []
        self.posts = []
        self.post_status = 200
        self.shows = 0
        self.flips = []
        self.levels = []
        self.presses = []
        self.uart_args = None
        self.interrupted = False
        self.lines = []

    # time
    def sleep_ms(self, ms):
        target = self.clock.now_ms + max(1, int(ms))
        nxt = self.world.module.next_event_ms()
        if nxt is not None and nxt < target:
            target = max(nxt, self.clock.now_ms + 1)
        self.clock.advance_to(target)
        while self.hooks and self.clock.now_ms >= self.hooks[0][0] * 1000:
            self.hooks.pop(0)[1](self)
        if not self.interrupted and self.clock.now_ms >= self.limit_ms:
            self.interrupted = True
            raise KeyboardInterrupt

    def time_module(self):
        t = types.ModuleType("time")
        t.ticks_ms = self.clock.ticks_ms
        t.ticks_diff = ticks.ticks_diff
        t.ticks_add = ticks.ticks_add
        t.sleep_ms = self.sleep_ms
        t.sleep = lambda s: self.sleep_ms(s * 1000)
        t.time = lambda: self.clock.wall() if self.ntp_set else 0
        t.gmtime = lambda s=0: (1970, 1, 1, 0, 0, 0, 3, 1)
        return t

    def machine_module(self):
        m = types.ModuleType("machine")
        dev = self

        def uart(n, **kw):
            dev.uart_args = (n, kw)
            return dev.world.module.uart

        class WDT:
            def __init__(self, timeout):
                dev.wdt_timeout = timeout

            def feed(self):
                dev.feeds.append(dev.clock.now_ms)

        def soft_reset():
            raise SystemExit("soft reset")

        m.UART = uart
        m.WDT = WDT
        m.soft_reset = soft_reset
        return m

    def network_module(self):
        n = types.ModuleType("network")
        dev = self
        n.STA_IF = 0

        class WLAN:
            def __init__(self, i):
                pass

            def active(self, on=None):
                return True

            def isconnected(self):
                return (
                    not dev.wifi_down
                    and dev.connected_at is not None
                    and dev.clock.now_ms >= dev.connected_at
                )

            def connect(self, ssid, password):
                assert password == WIFI_PW
                dev.wifi_connects.append((dev.clock.now_ms, ssid))
                dev.connected_at = dev.clock.now_ms + 2000

            def disconnect(self):
                dev.connected_at = None

            def ifconfig(self):
                return ("192.168.1.20", "255.255.255.0", "192.168.1.1", "192.168.1.1")

        n.WLAN = WLAN
        return n

    def ntptime_module(self):
        n = types.ModuleType("ntptime")
        dev = self
        n.host = "pool.ntp.org"

        def settime():
            if dev.wifi_down or dev.connected_at is None:
                raise OSError(110)
            dev.ntp_set = True

        n.settime = settime
        return n

    def requests_module(self):
        r = types.ModuleType("requests")
        dev = self

        class Response:
            def __init__(self, status):
                self.status_code = status

            def close(self):
                pass

        def post(url, data=None, headers=None, timeout=None, parse_headers=True):
            assert headers == {"Content-Type": "application/json"} and timeout and not parse_headers
            if dev.wifi_down:
                raise OSError(113)
            dev.posts.append((dev.clock.now_ms, url, json.loads(data), dev.post_status))
            return Response(dev.post_status)

        r.post = post
        return r

    def gc_module(self):
        g = types.ModuleType("gc")
        g.collect = lambda: None
        g.mem_free = lambda: 42000
        g.mem_alloc = lambda: 58000
        return g

    def board_module(self):
        b = types.ModuleType("board")
        dev = self

        class Display(canvas.Canvas):
            def show(self):
                dev.shows += 1

            def set_orientation(self, flip):
                dev.flips.append(flip)

            def brightness(self, percent):
                dev.levels.append(percent)

        class Buttons:
            def poll(self):
                return dev.presses.pop(0) if dev.presses else None

        class Board:
            def __init__(self, name):
                self.name = name
                self.display = Display(160, 80) if name == "m5stickc" else Display(240, 135)
                self.buttons = Buttons()

        def setup(name="m5stickc", flip=False):
            dev.board_name = name
            return Board(name)

        b.setup = setup
        return b


def config_doc(**over):
    doc = {
        "id": RBID,
        "password": PWD,
        "contract_amperage": "40",
        "collect_date": "22",
        "charge_func": "tepco_b",
        "wifi": {"ssid": "home", "password": WIFI_PW},
        "ambient": {"channel_id": "3", "write_key": WKEY},
    }
    doc.update(over)
    return doc


@pytest.fixture
def boot(tmp_path, monkeypatch):
    """boot(limit_s, hooks) -> Device after device.run() ended with the KeyboardInterrupt at limit_s."""

    def _boot(limit_s, hooks=()):
        dev = Device(str(tmp_path), limit_s, hooks)
        for name, mod in (
            ("time", dev.time_module()),
            ("machine", dev.machine_module()),
            ("network", dev.network_module()),
            ("ntptime", dev.ntptime_module()),
            ("requests", dev.requests_module()),
            ("gc", dev.gc_module()),
            ("board", dev.board_module()),
        ):
            monkeypatch.setitem(sys.modules, name, mod)
        for name in ("device", "wifi", "netclock"):
            monkeypatch.delitem(sys.modules, name, raising=False)
        monkeypatch.syspath_prepend(FIRMWARE)
        log.set_sink(dev.lines.append)
        try:
            device = importlib.import_module("device")
            with pytest.raises(KeyboardInterrupt):
                device.run(root=str(tmp_path))
        finally:
            log.set_sink(print)
            for name in ("device", "wifi", "netclock"):
                sys.modules.pop(name, None)
        text = "\n".join(dev.lines)
        for secret in (RBID, PWD, WKEY, WIFI_PW):
            assert secret not in text
        return dev

    return _boot


def test_device_boots_reads_and_posts(tmp_path, boot):
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc()))
    dev = boot(600)
    n, kw = dev.uart_args
    assert n == 1 and kw["baudrate"] == 115200 and kw["tx"] == 0 and kw["rx"] == 26 and kw["timeout"] == 0
    assert kw["rxbuf"] >= 1024
    assert dev.board_name == "m5stickc" and dev.wdt_timeout >= 30000
    assert dev.wifi_connects and dev.ntp_set
    assert len(dev.posts) >= 15, dev.lines[-10:]
    url = dev.posts[-1][1]
    assert url == "http://ambidata.io/api/v2/channels/3/data"
    body = dev.posts[-1][2]
    assert body["writeKey"] == WKEY and body["d2"] > 0 and body["d4"] > 0
    assert dev.feeds and dev.feeds[-1] >= dev.clock.now_ms - 2000, "the watchdog is fed while it reads"
    assert dev.shows > 10
    assert dev.flips == [False]
    assert any(b"SKTERM" in bytes(line) for line in dev.world.module.lines), "Ctrl-C ends the session"
    assert (tmp_path / "smartmeter.state.json").exists()


def test_config_problems_wait_for_a_fixed_file(tmp_path, boot):
    bad = config_doc(contract_amperage="55", password=PWD + "Z")
    del bad["wifi"]
    path = tmp_path / "SmartMeter.json"
    path.write_text(json.dumps(bad))
    good = json.dumps(config_doc(), indent=2)

    def fix(dev):
        assert not dev.uart_args, "must not start with a bad config"
        assert dev.feeds == [], "no watchdog while waiting: nothing can hang"
        path.write_text(good)

    dev = boot(400, hooks=[(120, fix)])
    text = "\n".join(dev.lines)
    assert "config: contract_amperage: expected one of 10,15,20,30,40,50,60" in text
    assert "config: password: expected a string of 12 characters" in text
    assert "config: wifi: missing" in text
    assert "config fixed" in text
    assert dev.shows >= 2  # the problems were drawn, then the app's screens
    assert dev.uart_args is not None and len(dev.posts) >= 5


def test_wifi_outage_reconnects_and_flushes_the_backlog(tmp_path, boot):
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc()))

    def down(dev):
        dev.wifi_down = True

    def up(dev):
        dev.wifi_down = False

    dev = boot(1500, hooks=[(300, down), (900, up)])
    assert len(dev.wifi_connects) >= 3, "reconnects without a reset"
    during = [p for p in dev.posts if 300000 <= p[0] < 900000]
    assert during == []
    bulk = [p for p in dev.posts if p[1].endswith("/dataarray")]
    assert bulk, "the backlog went out through /dataarray"
    created = []
    for _, url, body, _ in dev.posts:
        if url.endswith("/dataarray"):
            created.extend(r["created"] for r in body["data"])
        else:
            created.append(body["created"])
    assert created == sorted(created)
    gaps = [(b - a) / 1000 for a, b in zip(created, created[1:], strict=False)]
    assert max(gaps) <= 35, gaps  # a record every 30 s, the outage included
    assert dev.feeds[-1] >= dev.clock.now_ms - 2000
