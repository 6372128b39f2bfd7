"""firmware/device.py (what /main.py runs at boot) on CPython, with stand-ins for machine (Pin, I2C, SPI,
PWM, UART, WDT, Timer), network, socket, ntptime, requests and gc, the real board.py, buttons.py, wifi.py,
netclock.py and watchdog.py, a recording panel in place of st77xx (its SPI stream is checked on
MicroPython in test_render_drivers.py), and the BP35A1 + meter simulator as the UART: the device's own
start-up, board detection, config wait, Wi-Fi/DNS/NTP, watchdog and Ambient path, on the virtual clock."""

import importlib
import json
import os
import sys
import time as _time
import types

import canvas
import demo
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
IPS = {"pool.ntp.org": "192.0.2.123", "ambidata.io": "198.51.100.7"}
FIRMWARE_MODULES = (
    "device",
    "board",
    "buttons",
    "wifi",
    "netclock",
    "watchdog",
    "axp192",
    "st77xx",
    "selftest",
)
PIN_NAMES = {4: "hold", 5: "cs", 12: "rst", 14: "dc", 18: "rst", 23: "dc", 27: "backlight", 37: "a", 39: "b"}


class Device:
    """The stand-in hardware around one simulated world."""

    def __init__(self, root, limit_s, hooks=(), axp=True):
        self.world = harness.World(start=START, seed=5)
        self.clock = self.world.clock
        self.root = root
        self.limit_ms = limit_s * 1000
        self.hooks = sorted(hooks, key=lambda h: h[0])  # [(virtual s, fn)]
        self.ntp_set = False
        self.ntp_fails = False  # the NTP server does not answer: settime blocks for its timeout
        self.wifi_down = False
        self.dns_ms = 40  # a lookup's duration; a failing one takes lwIP's 7 s
        self.wifi_connects = []
        self.connected_at = None
        self.events = []  # (virtual ms, "feed" | "dns" | "ntp" | "post", detail)
        self.feeds = []
        self.posts = []
        self.post_status = 200
        self.shows = 0
        self.flips = []
        self.levels = []
        self.pin_ops = []  # (gpio, mode, value) for each Pin made
        self.button_level = {37: 1, 39: 1}
        # AXP192: chip ID; battery 4,100 mV (0x78/0x79, 1.1 mV), VBUS 5,000 mV (0x5A/0x5B, 1.7 mV)
        regs = {0x03: 0x03, 0x12: 0x00, 0x28: 0x00, 0x78: 0xE8, 0x79: 0x0F, 0x5A: 0xB7, 0x5B: 0x0D}
        self.i2c = {0x34: regs} if axp else {}
        self.i2c_writes = []  # (address, register, value)
        self.panels = []
        self.screens = []  # the text drawn with framebuf's text() at each show()
        self.wlan_config = []
        self.timers = []
        self.wdt_timeout = None
        self.reset_cause = 1  # PWRON_RESET
        self.uart_args = None
        self.interrupted = False
        self.lines = []

    # time
    def sleep_ms(self, ms):
        target = self.clock.now_ms + max(1, int(ms))
        nxt = self.world.module.next_event_ms()
        if nxt is not None and nxt < target:
            target = max(nxt, self.clock.now_ms + 1)
        self.block(target - self.clock.now_ms)
        while self.hooks and self.clock.now_ms >= self.hooks[0][0] * 1000:
            self.hooks.pop(0)[1](self)
        if not self.interrupted and self.clock.now_ms >= self.limit_ms:
            self.interrupted = True
            raise KeyboardInterrupt

    def block(self, ms):
        """A blocking call of ms: the virtual clock moves on."""
        self.clock.advance_to(self.clock.now_ms + ms)

    def wall(self):
        return self.clock.wall() if self.ntp_set else 0

    def time_module(self):
        t = types.ModuleType("time")
        t.ticks_ms = self.clock.ticks_ms
        t.ticks_diff = ticks.ticks_diff
        t.ticks_add = ticks.ticks_add
        t.sleep_ms = self.sleep_ms
        t.sleep = lambda s: self.sleep_ms(s * 1000)
        t.time = self.wall
        t.gmtime = lambda s=None: _time.gmtime(self.wall() if s is None else s)
        return t

    def machine_module(self):
        m = types.ModuleType("machine")
        dev = self
        m.PWRON_RESET, m.SOFT_RESET = 1, 5

        def uart(n, **kw):
            dev.uart_args = (n, kw)
            return dev.world.module.uart

        class WDT:
            def __init__(self, timeout):
                dev.wdt_timeout = timeout
                dev.events.append((dev.clock.now_ms, "wdt", timeout))

            def feed(self):
                dev.feeds.append(dev.clock.now_ms)
                dev.events.append((dev.clock.now_ms, "feed", None))

        class Timer:
            PERIODIC = 2

            def __init__(self, n):
                self.n = n
                self.period = self.callback = None
                self.running = False
                dev.timers.append(self)

            def init(self, period=None, mode=None, callback=None):
                self.period, self.mode, self.callback = period, mode, callback
                self.running = True
                dev.events.append((dev.clock.now_ms, "timer", period))

            def deinit(self):
                self.running = False
                dev.events.append((dev.clock.now_ms, "timer_off", None))

        class Pin:
            IN, OUT = 1, 3

            def __init__(self, n, mode=None, value=None):
                self.n = n
                dev.pin_ops.append((n, mode, value))

            def __call__(self, v=None):
                return None

            def value(self, v=None):
                return dev.button_level.get(self.n, 1)

        class I2C:
            def __init__(self, n, scl=None, sda=None, freq=None):
                dev.pin_ops.append(("i2c", None, None))

            def _dev(self, addr):
                if addr not in dev.i2c:
                    raise OSError(19)  # ENODEV: no acknowledge
                return dev.i2c[addr]

            def readfrom_mem(self, addr, reg, n):
                regs = self._dev(addr)
                return bytes(regs.get(reg + i, 0) for i in range(n))

            def readfrom_mem_into(self, addr, reg, buf):
                buf[:] = self.readfrom_mem(addr, reg, len(buf))

            def writeto_mem(self, addr, reg, buf):
                regs = self._dev(addr)
                for i, b in enumerate(bytes(buf)):
                    regs[reg + i] = b
                    dev.i2c_writes.append((addr, reg + i, b))

        class SPI:
            def __init__(self, *a, **k):
                pass

            def write(self, b):
                pass

        class PWM:
            def __init__(self, pin, freq=None, duty_u16=None):
                dev.pwm = [duty_u16]

            def duty_u16(self, v):
                dev.pwm.append(v)

        def soft_reset():
            raise SystemExit("soft reset")

        class ADC:
            def __init__(self, pin):
                pass

            def read_uv(self):
                return 1950000  # GPIO38 on the Plus2: half the battery's 3,900 mV

        m.ADC = ADC
        m.UART = uart
        m.WDT = WDT
        m.Timer = Timer
        m.Pin, m.I2C, m.SPI, m.PWM = Pin, I2C, SPI, PWM
        m.soft_reset = soft_reset
        m.reset_cause = lambda: dev.reset_cause
        return m

    def st77xx_module(self):
        """A recording panel: size, init sequence, orientation table, pins; drawn on a canvas."""
        s = types.ModuleType("st77xx")
        dev = self
        s.ST7735S_INIT = b"ST7735S"
        s.ST7789_INIT = b"ST7789"

        class Panel(canvas.Canvas):
            def __init__(self, spi, cs, dc, rst, w, h, init, orientations, backlight, band_bytes=320, rows=0):
                super().__init__(w, h)
                self.init, self.orientations, self._backlight = init, orientations, backlight
                self.dc, self.rst = dc.n, rst.n
                self.madctl = None
                self.texts = []  # (text, x, y, colour)
                dev.panels.append(self)

            def text(self, s, x, y, c=1):
                self.texts.append((s, x, y, c))

            def fill(self, c):
                self.texts = []
                super().fill(c)

            def set_palette(self, colours):
                self.palette = colours

            def set_orientation(self, flip):
                dev.flips.append(flip)
                self.madctl = self.orientations[1 if flip else 0][0]

            def brightness(self, percent):
                dev.levels.append(percent)
                self._backlight(percent)

            def show(self):
                dev.shows += 1
                dev.screens.append(self.texts[:])

        s.Panel = Panel
        return s

    def network_module(self):
        n = types.ModuleType("network")
        dev = self
        n.STA_IF = 0

        class WLAN:
            PM_NONE, PM_PERFORMANCE = 0, 1

            def __init__(self, i):
                pass

            def active(self, on=None):
                return True

            def config(self, **kw):
                dev.wlan_config.append(kw)

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

            def status(self, what=None):
                return -61 if what == "rssi" else 1010

        n.WLAN = WLAN
        return n

    def socket_module(self):
        s = types.ModuleType("socket")
        dev = self

        def getaddrinfo(host, port, *a):
            dev.events.append((dev.clock.now_ms, "dns", host))
            if dev.wifi_down or host not in IPS:
                dev.block(7000)  # lwIP: 1 + 1 + 2 + 3 s for one DNS server that does not answer
                raise OSError(-202)
            dev.block(dev.dns_ms)
            return [(2, 1, 0, "", (IPS[host], port))]

        class Socket:
            """A TCP socket to the Ambient stand-in: checks the request firmware/wifi.py writes (to the
            cached address, Host and Content-Type headers, a Content-Length that fits the body, a
            time-out set before the connect) and answers dev.post_status."""

            def __init__(self, *a):
                self.timeout = None
                self.addr = None
                self.out = b""

            def settimeout(self, t):
                self.timeout = t

            def connect(self, addr):
                assert addr == (IPS["ambidata.io"], 80), "the cached address, not the name"
                assert self.timeout, "a time-out before the connect"
                self.addr = addr
                dev.events.append((dev.clock.now_ms, "post", addr[0]))
                if dev.wifi_down:
                    dev.block(self.timeout * 1000)
                    raise OSError(113)

            def write(self, b):
                assert self.addr is not None
                self.out += b.encode() if isinstance(b, str) else bytes(b)
                return len(b)

            def readline(self):
                head, _, body = self.out.partition(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, path, version = lines[0].split(" ")
                assert method == "POST" and version == "HTTP/1.0" and path.startswith("/"), lines[0]
                headers = dict(line.split(": ", 1) for line in lines[1:])
                assert headers == {
                    "Host": "ambidata.io",
                    "Content-Type": "application/json",
                    "Content-Length": str(len(body)),
                }, headers
                dev.block(150)
                url = "http://%s%s" % (self.addr[0], path)
                dev.posts.append((dev.clock.now_ms, url, json.loads(body), dev.post_status))
                return b"HTTP/1.1 %d OK\r\n" % dev.post_status

            def close(self):
                pass

        s.getaddrinfo = getaddrinfo
        s.socket = Socket
        return s

    def ntptime_module(self):
        n = types.ModuleType("ntptime")
        dev = self
        n.host = "pool.ntp.org"
        n.timeout = 1

        def settime():
            assert n.host == IPS["pool.ntp.org"], "ntptime must get the cached address, not a name"
            dev.events.append((dev.clock.now_ms, "ntp", n.host))
            if dev.wifi_down or dev.connected_at is None or dev.ntp_fails:
                dev.block(n.timeout * 1000)
                raise OSError(110)
            dev.block(30)
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
            assert url.startswith("http://" + IPS["ambidata.io"] + "/"), "the cached address, not the name"
            assert headers == {"Content-Type": "application/json", "Host": "ambidata.io"}
            assert timeout and not parse_headers
            dev.events.append((dev.clock.now_ms, "post", url))
            if dev.wifi_down:
                dev.block(timeout * 1000)
                raise OSError(113)
            dev.block(150)
            dev.posts.append((dev.clock.now_ms, url, json.loads(data), dev.post_status))
            return Response(dev.post_status)

        def head(url, headers=None, timeout=None, parse_headers=True):
            dev.events.append((dev.clock.now_ms, "head", url))
            dev.heads = (url, headers)
            if getattr(dev, "head_error", None):
                raise dev.head_error
            return Response(200)

        r.post = post
        r.head = head
        return r

    def gc_module(self):
        g = types.ModuleType("gc")
        g.collect = lambda: None
        g.mem_free = lambda: 42000
        g.mem_alloc = lambda: 58000
        return g

    def modules(self):
        mp = types.ModuleType("micropython")
        mp.const = lambda x: x
        return (
            ("micropython", mp),
            ("time", self.time_module()),
            ("machine", self.machine_module()),
            ("network", self.network_module()),
            ("socket", self.socket_module()),
            ("ntptime", self.ntptime_module()),
            ("requests", self.requests_module()),
            ("gc", self.gc_module()),
            ("st77xx", self.st77xx_module()),
        )

    def network_periods(self):
        """The network calls between each two watchdog feeds: [[(ms, kind)], ...] (from the WDT on)."""
        periods = [[]]
        started = False
        for t, kind, _ in self.events:
            if kind == "wdt":
                started = True
            elif kind == "feed":
                periods.append([])
            elif started and kind in ("dns", "ntp", "post"):
                periods[-1].append((t, kind))
        return periods


def config_doc(**over):
    """sim/demo.py's config on a device: Wi-Fi, Ambient channel 3 at its default address; None drops a key."""
    kw = {"board": "m5stickc", "wifi": {"ssid": "home", "password": WIFI_PW}}
    kw["ambient"] = {"channel_id": "3", "write_key": WKEY}
    kw.update(over)
    return demo.doc(rbid=kw.pop("id", RBID), password=kw.pop("password", PWD), **kw)


def install(dev, monkeypatch):
    """The stand-ins in sys.modules, the firmware modules fresh, firmware/ on the path."""
    for name in FIRMWARE_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    for name, mod in dev.modules():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.syspath_prepend(FIRMWARE)


def uninstall():
    for name in FIRMWARE_MODULES:
        sys.modules.pop(name, None)


def no_secret(text):
    for secret in (RBID, PWD, WKEY, WIFI_PW):
        assert secret not in text


@pytest.fixture
def boot(tmp_path, monkeypatch):
    """boot(limit_s, hooks, setup) -> Device after device.run() ended with the KeyboardInterrupt at limit_s
    (or whatever it raised: the Device's `ended`). setup(dev) runs before the boot."""

    def _boot(limit_s, hooks=(), setup=None, axp=True, expect=KeyboardInterrupt):
        dev = Device(str(tmp_path), limit_s, hooks, axp)
        if setup is not None:
            setup(dev)
        install(dev, monkeypatch)
        for name, mod in getattr(dev, "kept", {}).items():  # modules that outlive a soft reset
            monkeypatch.setitem(sys.modules, name, mod)
        log.set_sink(dev.lines.append)
        try:
            device = importlib.import_module("device")
            with pytest.raises(expect) as ended:
                device.run(root=str(tmp_path))
            dev.ended = ended.value
            dev.watchdog = sys.modules.get("watchdog")
        finally:
            log.set_sink(print)
            uninstall()
        no_secret("\n".join(dev.lines))
        return dev

    return _boot


def test_device_boots_reads_and_posts(tmp_path, boot):
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc()))
    dev = boot(600)
    n, kw = dev.uart_args
    assert n == 1 and kw["baudrate"] == 115200 and kw["tx"] == 0 and kw["rx"] == 26 and kw["timeout"] == 0
    assert kw["rxbuf"] >= 1024
    assert dev.wdt_timeout >= 30000
    assert dev.wifi_connects and dev.ntp_set
    assert len(dev.posts) >= 15, dev.lines[-10:]
    url = dev.posts[-1][1]
    assert url == "http://198.51.100.7/api/v2/channels/3/data"  # with Host: ambidata.io
    body = dev.posts[-1][2]
    assert body["writeKey"] == WKEY and body["d2"] > 0 and body["d4"] > 0
    assert dev.feeds and dev.feeds[-1] >= dev.clock.now_ms - 2000, "the watchdog is fed while it reads"
    assert dev.shows > 10
    assert set(dev.flips) == {False}
    assert [p.init for p in dev.panels] == [b"ST7735S"] and dev.panels[0].madctl == 0xA8
    assert any(b"SKTERM" in bytes(line) for line in dev.world.module.lines), "Ctrl-C ends the session"
    assert (tmp_path / "smartmeter.state.json").exists()
    assert dev.wlan_config == [], "power save stays on with RX on GPIO26"


def test_names_are_resolved_once_between_steps(tmp_path, boot):
    """Fix 3: requests and ntptime get cached addresses (their getaddrinfo before any timeout never
    waits on DNS); each name is looked up once, outside the app's steps, with a feed of its own."""
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc()))
    dev = boot(900)
    lookups = [d for _, kind, d in dev.events if kind == "dns"]
    assert sorted(lookups) == ["ambidata.io", "pool.ntp.org"]
    assert len(dev.posts) >= 25
    for period in dev.network_periods():
        assert len(period) <= 1, period


def test_network_calls_never_share_a_watchdog_period(tmp_path, boot):
    """Fix 3: the RTC kept the time over a soft reset, the NTP server does not answer (each try blocks for
    its 2 s timeout, and its address is looked up again), Ambient takes a record every 5 s, the loop
    stalls for 11 s once (NTP's retry and a record both fall due in one step), and a post fails once
    (Ambient's address is forgotten and looked up again): NTP, DNS and posts interleave, yet a watchdog
    period holds one network call at most."""
    doc = config_doc(ambient={"channel_id": "3", "write_key": WKEY, "interval": 5})
    (tmp_path / "SmartMeter.json").write_text(json.dumps(doc))

    def setup(dev):
        dev.ntp_set = True
        dev.ntp_fails = True

    def stall(dev):
        dev.block(11000)

    def down(dev):
        dev.wifi_down = True

    def up(dev):
        dev.wifi_down = False

    dev = boot(900, hooks=[(30, stall), (400, down), (401, up)], setup=setup)
    periods = dev.network_periods()
    kinds = [k for p in periods for _, k in p]
    assert kinds.count("ntp") >= 5 and kinds.count("post") >= 60 and kinds.count("dns") >= 6
    # the case that needs the rule: a post due in NTP's step went right after it, in a period of its own
    calls = [(t, k, i) for i, p in enumerate(periods) for t, k in p]
    ntps = [c for c in calls if c[1] == "ntp"]
    pairs = [(a, b) for a in ntps for b in calls if b[1] == "post" and 0 < b[0] - a[0] <= 2200]
    assert pairs, "no post fell due with NTP: the scenario does not test the rule"
    assert all(a[2] != b[2] for a, b in pairs), "NTP and a post without a feed between them"
    for period in periods:
        assert len(period) <= 1, period
    feeds = dev.feeds
    gaps = sorted(b - a for a, b in zip(feeds, feeds[1:], strict=False))
    assert gaps[-1] <= 13100 and gaps[-2] <= 10100, gaps[-3:]  # the stall + NTP's 2 s; a failing post's 10 s


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


# --- fix 2: the watchdog and the REPL ---------------------------------------------------------------


def test_ctrl_c_leaves_a_timer_feeding_the_watchdog(tmp_path, boot):
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc()))
    dev = boot(120)
    running = [t for t in dev.timers if t.running]
    assert len(running) == 1, "after Ctrl-C a Timer keeps the watchdog fed (the REPL stays usable)"
    timer = running[0]
    assert timer.mode == 2 and timer.period <= dev.wdt_timeout // 4
    before = len(dev.feeds)
    timer.callback(timer)
    timer.callback(timer)
    assert len(dev.feeds) == before + 2
    started = [t for t, kind, _ in dev.events if kind == "timer"]
    assert started and started[0] >= 120000, "the Timer starts only once the app has ended"


def test_soft_reset_boot_py_feeds_until_the_app_takes_over(tmp_path, monkeypatch, boot):
    """mpremote soft-resets before its commands: the Timer is gone, the watchdog is not. /boot.py feeds it
    again; the app stops that Timer before it feeds the watchdog itself."""
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc()))

    def soft(dev):
        dev.reset_cause = 5
        install(dev, monkeypatch)
        with open(os.path.join(FIRMWARE, "boot.py")) as f:
            exec(compile(f.read(), "boot.py", "exec"), {"__name__": "__main__"})
        assert [t.running for t in dev.timers] == [True] and dev.wdt_timeout == 60000
        dev.kept = {"watchdog": sys.modules["watchdog"]}  # sys.modules lives on until the next soft reset

    dev = boot(120, setup=soft)
    kinds = [k for _, k, _ in dev.events if k in ("timer", "timer_off", "wdt", "feed")]
    assert kinds[:4] == ["wdt", "timer", "timer_off", "wdt"], kinds[:6]  # boot.py, then device.run
    assert kinds[4] == "feed" and "timer" not in kinds[4:-1], "the app alone feeds while it runs"
    assert kinds[-1] == "timer", "and after Ctrl-C the Timer again"


def test_boot_py_starts_nothing_after_power_on(monkeypatch):
    dev = Device("", 1)
    install(dev, monkeypatch)
    try:
        with open(os.path.join(FIRMWARE, "boot.py")) as f:
            exec(compile(f.read(), "boot.py", "exec"), {"__name__": "__main__"})
    finally:
        uninstall()
    assert dev.timers == [] and dev.wdt_timeout is None


@pytest.mark.parametrize("held", [False, True])
def test_main_py_holds_gpio4_first_and_button_a_skips_the_app(monkeypatch, capsys, held):
    dev = Device("", 1)
    install(dev, monkeypatch)
    ran = []
    fake = types.ModuleType("device")
    fake.run = lambda: ran.append(dev.pin_ops[:])
    monkeypatch.setitem(sys.modules, "device", fake)
    dev.button_level[37] = 0 if held else 1
    with open(os.path.join(FIRMWARE, "main.py")) as f:
        exec(compile(f.read(), "main.py", "exec"), {"__name__": "__main__"})
    assert dev.pin_ops[0] == (4, 3, 1), "GPIO4 high before anything else (the Plus2 stays on)"
    if held:
        assert ran == [] and "REPL only" in capsys.readouterr().out
        assert dev.timers == [] and dev.wdt_timeout is None
    else:
        assert len(ran) == 1


# --- fix 4: the board ---------------------------------------------------------------------------------


def test_missing_board_is_a_config_error_on_a_screen_both_panels_show(tmp_path, boot):
    """An AXP192 answers (a StickC or a Plus): without "board" no panel is guessed; the problem names
    board on the 120x52 window both panels show, set up with the commands both controllers share."""
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc(board=None)))
    dev = boot(30)
    assert dev.pin_ops[0] == (4, 3, 1), "GPIO4 high first"
    assert [(p.width, p.height) for p in dev.panels] == [(120, 52)]
    assert dev.panels[0].init not in (b"ST7735S", b"ST7789") and dev.panels[0].dc == 23
    assert any("config: board: missing" in line for line in dev.lines)
    assert dev.uart_args is None and dev.wdt_timeout is None and dev.shows >= 2


def test_plus2_without_board_stays_on_and_shows_the_error(tmp_path, boot):
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc(board=None)))
    dev = boot(30, axp=False)
    assert dev.pin_ops[0] == (4, 3, 1)
    assert [(p.width, p.height, p.init, p.dc, p.rst) for p in dev.panels] == [(240, 135, b"ST7789", 14, 12)]
    assert dev.i2c_writes == []
    assert any("config: board: missing" in line for line in dev.lines)


def test_stickc_board_on_a_plus2_is_a_config_error_not_a_crash(tmp_path, boot):
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc(board="m5stickc")))
    dev = boot(30, axp=False)
    assert [p.init for p in dev.panels] == [b"ST7789"] and dev.panels[0].dc == 14
    assert any('config: board: no AXP192 answers at I2C 0x34, so not "m5stickc"' in x for x in dev.lines)
    assert dev.pwm[-1] == 65535, "the Plus2's PWM backlight is on"


def test_fixing_the_board_restarts_with_its_panel(tmp_path, boot):
    path = tmp_path / "SmartMeter.json"
    path.write_text(json.dumps(config_doc(board=None, contract_amperage="55")))

    def other_fix(dev):  # the file changes and validates, but "board" is still missing: keep waiting
        path.write_text(json.dumps(config_doc(board=None, collect_date="5")))  # another size: a new stamp

    def board_fix(dev):
        assert sum("config: board: missing" in x for x in dev.lines) == 2, "shown again, not restarted"
        path.write_text(json.dumps(config_doc(board="m5stickc_plus")))

    dev = boot(60, hooks=[(10, other_fix), (20, board_fix)], expect=SystemExit)
    assert str(dev.ended) == "soft reset" and dev.clock.now_ms >= 20000, "restarts for the new panel"
    assert dev.uart_args is None


# --- fixes 6 and 7 ----------------------------------------------------------------------------------


def test_axp192_charges_at_4v2_100ma(tmp_path, boot):
    """Fix 6: M5Unified's charger set-up for the StickC and Plus: 0x33 = 0xC0, 0x30 = 0x80."""
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc()))
    dev = boot(5)
    regs = dev.i2c[0x34]
    assert regs[0x33] == 0xC0 and regs[0x30] == 0x80
    assert (0x34, 0x33, 0xC0) in dev.i2c_writes and (0x34, 0x30, 0x80) in dev.i2c_writes


@pytest.mark.parametrize("rx, off", [(36, True), (26, False)])
def test_rx_on_gpio36_turns_wifi_power_save_off(tmp_path, boot, rx, off):
    """Fix 7: ESP32 errata 3.11: GPIO36/39 glitch while the radio's power save runs."""
    (tmp_path / "SmartMeter.json").write_text(json.dumps(config_doc(uart={"tx": 0, "rx": rx})))
    dev = boot(20)
    assert dev.uart_args[1]["rx"] == rx
    assert dev.wlan_config == ([{"pm": 0}] if off else [])
