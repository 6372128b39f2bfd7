"""Run the app on a PC or Raspberry Pi: host mode (a real Wi-SUN module) or the built-in simulator.

  make run CONFIG=SmartMeter.json SERIAL=/dev/ttyUSB0
      python host/run.py --config SmartMeter.json --serial /dev/ttyUSB0 [--png screen.png]
  make sim
      python host/run.py --sim [--speed 10] [--duration 600] [--solar 3000] [--wires 2] [--png PATH]

Host mode: pyserial 115200 8N1, the system clock with utc_offset_hours, the
screen drawn in the terminal when stdout is a terminal (keys: a = button A
flips the screen, b = button B cycles main / today / diagnostics, q quits),
plain log lines otherwise; --png saves the screen after every redraw; Ambient
posts go to ambient.url with urllib. Ctrl-C or SIGTERM ends the B-route
session politely (SKTERM) and exits 0. A config with problems is reported and
waited on (the file is re-read every 2 s), like on the device.

Simulator: the same app against the BP35A1 + smart meter simulator with a
built-in demo config (or --config: its id/password become the simulated
meter's), in real time or accelerated (--speed N; --speed 0 = as fast as
possible), for --duration simulated seconds (default: until Ctrl-C). Ambient
posts go to a local Ambient stand-in (host/fake_ambient.py) started in the
process; a configured ambient.url is used only when it is on this machine,
so simulated data never reaches a real channel.

MQTT (both modes): the config's mqtt section through paho-mqtt (host/mqtt_paho.py);
--mqtt HOST:PORT sets or replaces the broker (the config's user and password
stay). The simulator publishes only with --mqtt or to a broker on this machine,
as client "smartmeter-sim" unless the config names one.
"""

import argparse
import collections
import os
import select
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for sub in ("lib", "sim", "host"):
    p = os.path.join(ROOT, sub)
    if p not in sys.path:
        sys.path.insert(0, p)

import log  # noqa: E402
import ticks  # noqa: E402
from app import config  # noqa: E402
from app import loop as app_mod  # noqa: E402

SIZES = {"m5stickc": (160, 80), "m5stickc_plus": (240, 135), "m5stickc_plus2": (240, 135)}


# --- Ambient over urllib ---------------------------------------------------------------------
def http_post(url, body, timeout_s):
    """POST JSON bytes; returns the HTTP status (raises OSError when there is no answer)."""
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def is_local_url(url):
    host = url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


# --- the screen: terminal, PNG, keys -----------------------------------------------------------
class Screen:
    """A host canvas shown in the terminal (tty) and/or saved as PNG; keeps the last log lines."""

    def __init__(self, size, tty, png=None, log_lines=8, out=None, stamp=None):
        import canvas
        from ui import screens

        self.palette = screens.PALETTE
        self.canvas = canvas.Canvas(size[0], size[1])
        self.fb = self.canvas
        self.tty = tty
        self.png = png
        self.out = out or sys.stdout
        self.flipped = False
        self.brightness = 100
        self.lines = collections.deque(maxlen=log_lines)
        self.shows = 0
        self.stamp = stamp or (lambda: time.strftime("%H:%M:%S"))
        self._dirty = False
        if tty:
            self.out.write("\x1b[?25l\x1b[2J")  # hide the cursor, clear

    def log(self, text):
        stamp = self.stamp()
        if self.tty:
            self.lines.append("%s %s" % (stamp, text))
            self._dirty = True
        else:
            self.out.write("%s %s\n" % (stamp, text))
            self.out.flush()

    def set_flip(self, flip):
        self.flipped = bool(flip)

    def set_brightness(self, percent):
        self.brightness = percent
        self._dirty = True

    def _image(self, half=False):
        """The canvas as the panel shows it: rotated when flipped; half size for a narrow terminal."""
        if not self.flipped and not half:
            return self.canvas
        import canvas

        src = self.canvas
        w, h = src.width, src.height
        k = 2 if half else 1
        out = canvas.Canvas(w // k, h // k)
        for y in range(0, h - k + 1, k):
            for x in range(0, w - k + 1, k):
                c = src.index(x, y)
                if half and not c:  # keep thin strokes: any lit pixel of the 2x2 block
                    c = src.index(x + 1, y) or src.index(x, y + 1) or src.index(x + 1, y + 1)
                if self.flipped:
                    out.pixel((w - 1 - x) // k, (h - 1 - y) // k, c)
                else:
                    out.pixel(x // k, y // k, c)
        return out

    def _columns(self):
        try:
            return os.get_terminal_size(self.out.fileno()).columns
        except (OSError, ValueError):
            return 200

    def _palette(self):
        k = max(0, min(100, self.brightness))
        if k == 100:
            return self.palette
        out = []
        for c in self.palette:
            r, g, b = c >> 16, (c >> 8) & 255, c & 255
            out.append(((r * k // 100) << 16) | ((g * k // 100) << 8) | (b * k // 100))
        return tuple(out)

    def show(self):
        self.shows += 1
        if self.png:
            tmp = self.png + ".tmp.png"
            self._image().to_png(tmp, self._palette(), scale=2)
            os.replace(tmp, self.png)
        if self.tty:
            half = self._columns() < self.canvas.width
            self._picture = self._image(half).to_ansi(self._palette())
            self._dirty = True
            self.render()

    def render(self):
        """Redraw the terminal: the screen picture, then the latest log lines."""
        if not self.tty or not self._dirty:
            return
        self._dirty = False
        pic = getattr(self, "_picture", "")
        cols = self._columns()
        text = ["\x1b[H", pic, "\x1b[0m\n", "keys: a = flip, b = next screen, q = quit\x1b[K\n"]
        for line in self.lines:
            text.append(line[: cols - 1] + "\x1b[K\n")
        text.append("\x1b[J")
        self.out.write("".join(text))
        self.out.flush()

    def close(self):
        if self.tty:
            self._dirty = True
            self.render()  # the last log lines (the shutdown) stay visible
            self.out.write("\x1b[0m\x1b[?25h\n")
            self.out.flush()


class Keys:
    """Buttons from the keyboard (a, b; q quits) when stdin is a terminal."""

    def __init__(self, on_quit):
        self.on_quit = on_quit
        self._old = None
        self.fd = -1
        if sys.stdin.isatty():
            import termios
            import tty

            try:
                fd = sys.stdin.fileno()
                old = termios.tcgetattr(fd)
                tty.setcbreak(fd)
            except (termios.error, OSError):  # not the foreground process: no keys
                return
            self.fd = fd
            self._old = old

    def __call__(self):
        if self.fd < 0:
            return None
        if not select.select([self.fd], [], [], 0)[0]:
            return None
        ch = os.read(self.fd, 1).decode(errors="replace").lower()
        if ch == "q":
            self.on_quit()
            return None
        return {"a": "A", "b": "B"}.get(ch)

    def close(self):
        if self._old is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._old)
            self._old = None


# --- config ----------------------------------------------------------------------------------
def load_config_waiting(path, stop, screen=None, poll_s=2.0, sleep=time.sleep):
    """The config at path; while it has problems, report them and wait for the file to change.

    Returns None when stop() became true first.
    """
    shown = False  # the stamp whose problems were reported (a missing file's stamp is None)
    while not stop():
        stamp = config.file_stamp(path)
        try:
            return config.load_file(path)
        except config.ConfigError as e:
            if stamp != shown:
                shown = stamp
                for p in e.problems:
                    log.error("config: %s", p)
                log.error("fix %s; waiting for the file to change (Ctrl-C ends)", path)
                if screen is not None:
                    from ui import config_error, screens

                    screens.draw(screen.fb, config_error.make_view(e.problems), "config_error")
                    screen.show()
        while not stop() and config.file_stamp(path) == stamp:
            sleep(poll_s)
    return None


def demo_config(rbid, password, ambient_url=None):
    """sim/demo.py's config (no night window: the simulated meter keeps Japan time, afternoon in Europe)."""
    import demo

    return demo.config(ambient_url, rbid=rbid, password=password)


# --- MQTT --------------------------------------------------------------------------------------
def mqtt_section(cfg, spec, sim):
    """cfg's mqtt section with --mqtt HOST:PORT (spec) applied; None for no MQTT.

    Raises config.ConfigError for a bad spec. In the simulator a configured broker is used
    only when it is on this machine (simulated readings must not reach a real Home Assistant)."""
    m = cfg["mqtt"]
    if spec:
        host, colon, port = spec.rpartition(":")
        if not colon or not port.isdigit():
            host, port = spec, "1883"
        raw = {"host": host.strip("[]"), "port": int(port)}
        if m:
            for k in ("user", "password", "client_id", "topic", "discovery_prefix", "interval"):
                if m[k] is not None or k == "discovery_prefix":
                    raw[k] = m[k]
        elif sim:
            raw["client_id"] = "smartmeter-sim"
        from mqtt import settings

        m, problems, _ = settings.check(raw)
        if problems:
            raise config.ConfigError(problems)
        return m
    if m and sim and m["host"] not in ("127.0.0.1", "localhost", "::1"):
        log.warning("simulator: mqtt.host is not on this machine; nothing is published (see --mqtt)")
        return None
    return m


def mqtt_publisher(section, clock, model):
    """A lib/mqtt Publisher over paho-mqtt for a validated mqtt section (None: no MQTT)."""
    if not section:
        return None
    import mqtt
    import mqtt_paho

    log.info("mqtt: publishing to %s:%d as %s", section["host"], section["port"], section["topic"])
    return mqtt.Publisher(section, mqtt_paho.Client, clock(), model)


# --- the loop ---------------------------------------------------------------------------------
class Stop:
    """Set by SIGINT/SIGTERM or the q key; the loop then closes the session and returns."""

    def __init__(self):
        self.flag = False

    def __call__(self):
        return self.flag

    def set(self, *_):
        self.flag = True


def install_signals(stop):
    signal.signal(signal.SIGINT, stop.set)
    signal.signal(signal.SIGTERM, stop.set)


def state_paths(cfg_path, state_dir):
    stem = os.path.splitext(os.path.basename(cfg_path))[0] if cfg_path else "SmartMeter"
    folder = state_dir or (os.path.dirname(os.path.abspath(cfg_path)) if cfg_path else ".")
    os.makedirs(folder, exist_ok=True)
    j = os.path.join
    return j(folder, stem + ".state.json"), j(folder, stem + ".backlog"), j(folder, stem + ".days")


def run_host(args, stop):
    """Host mode with a real module on a serial port."""
    from serial_uart import SerialUart

    screen = Screen(SIZES["m5stickc"], sys.stdout.isatty() and not args.no_screen, args.png)
    log.set_sink(screen.log)
    keys = Keys(stop.set)
    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(args.config)))  # a tariff plug-in beside it
        cfg = load_config_waiting(args.config, stop, screen if (screen.tty or args.png) else None)
        if cfg is None:
            return 0
        if cfg["log_level"] == "debug" or args.debug:
            log.set_level(log.DEBUG)
        for w in cfg["warnings"]:
            log.warning("config: %s", w)
        if cfg["board"] != "m5stickc":
            screen = Screen(SIZES[cfg["board"]], screen.tty, args.png)
            log.set_sink(screen.log)
        state, backlog, days = state_paths(args.config, args.state_dir)
        try:
            section = mqtt_section(cfg, args.mqtt, False)
        except config.ConfigError as e:
            log.error("--mqtt: %s", "; ".join(e.problems))
            return 2
        pub = mqtt_publisher(section, ticks.ticks_ms, "Wi-SUN module (host mode)")
        try:
            uart = SerialUart(args.serial, log=log.warning)
        except Exception as e:  # pyserial's SerialException or OSError: no traceback for a wrong port
            log.error("cannot open serial port %s: %s", args.serial, getattr(e, "strerror", None) or e)
            log.error("check the port name (ls /dev/ttyUSB* /dev/ttyACM*) and that no other program holds it")
            return 2
        a = app_mod.App(
            cfg,
            uart,
            ticks.ticks_ms,
            lambda: int(time.time()),
            fb=screen.fb if (screen.tty or args.png) else None,
            show=screen.show,
            buttons=keys,
            http_post=http_post if cfg["ambient"] and not args.no_ambient else None,
            state_path=state,
            backlog_path=backlog,
            history_path=days,
            set_brightness=screen.set_brightness,
            set_flip=screen.set_flip,
            mqtt=pub,
        )
        log.info("host mode on %s", args.serial)
        while not stop():
            ms = a.step()
            screen.render()
            uart.wait(ms)
        log.info("stopping: ending the B-route session")
        a.close(3000)
        uart.close()
        log.info("stopped")
        return 0
    finally:
        keys.close()
        screen.close()
        log.set_sink(print)


class RealtimeSim:
    """The simulator's virtual clock following real time x speed (speed 0: jump from event to event)."""

    def __init__(self, world, speed):
        self.world = world
        self.clock = world.clock
        self.speed = speed
        self.t0 = time.monotonic()
        self.v0 = self.clock.now_ms
        self.closing = False

    def sync(self):
        if self.speed > 0:
            self.clock.advance_to(self.v0 + int((time.monotonic() - self.t0) * 1000 * self.speed))
        elif self.closing:
            self.clock.advance(5)  # a blocking close() polls the clock: let time pass

    def ticks_ms(self):
        self.sync()
        return self.clock.ticks_ms()

    def wall(self):
        self.sync()
        return self.clock.wall()

    def wait(self, ms):
        """Let ms of simulated time pass (or until the module has something to say)."""
        now = self.clock.now_ms
        target = now + max(ms, 0)
        nxt = self.world.module.next_event_ms()
        if nxt is not None and nxt < target:
            target = nxt
        if self.speed > 0:
            delay = (target - now) / 1000 / self.speed
            if delay > 0:
                time.sleep(min(delay, 0.2))
        else:
            self.clock.advance_to(max(target, now + 1))


class _SyncedUart:
    """The simulator's UART with the clock brought up to date before each call."""

    def __init__(self, uart, sim):
        self._u = uart
        self._sim = sim

    def write(self, buf):
        self._sim.sync()
        return self._u.write(buf)

    def readinto(self, buf, nbytes=None):
        self._sim.sync()
        return self._u.readinto(buf) if nbytes is None else self._u.readinto(buf, nbytes)

    def any(self):
        self._sim.sync()
        return self._u.any()


def run_sim(args, stop):
    """The app against the built-in simulator."""
    import bp35a1
    import harness

    tty = sys.stdout.isatty() and not args.no_screen
    png = args.png
    if png:
        os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    fake = None
    if args.config:
        cfg = load_config_waiting(args.config, stop)
        if cfg is None:
            return 0
        amb = cfg["ambient"]
        if amb and not is_local_url(amb["url"]):
            log.warning("simulator: ambient.url is not on this machine; simulated data is not sent there")
            cfg["ambient"] = None
        rbid, password = cfg["id"], cfg["password"]
    else:
        url = None
        if not args.no_ambient:
            from fake_ambient import FakeAmbient

            fake = FakeAmbient(port=args.ambient_port).start()
            url = fake.url
        rbid, password = bp35a1.DEFAULT_ID, bp35a1.DEFAULT_PASSWORD
        cfg = demo_config(rbid, password, url)
    start = int(time.time()) if args.start is None else args.start
    world = harness.World(
        start=start,
        seed=args.seed,
        meter_kw={"solar": args.solar, "wires": args.wires},
        module_kw={"rbid": rbid, "password": password, "dialect": args.dialect},
    )
    sim = RealtimeSim(world, args.speed)
    offset = cfg["utc_offset_s"]
    try:
        mqtt_cfg = mqtt_section(cfg, args.mqtt, True)
    except config.ConfigError as e:
        log.error("--mqtt: %s", "; ".join(e.problems))
        return 2

    def sim_time():
        t = (world.clock.wall() or 0) + offset
        return "%02d:%02d:%02d" % (t // 3600 % 24, t // 60 % 60, t % 60)

    screen = Screen(SIZES[cfg["board"]], tty, png, stamp=sim_time)
    log.set_sink(screen.log)
    if args.debug or cfg["log_level"] == "debug":
        log.set_level(log.DEBUG)
    keys = Keys(stop.set)
    state_dir = args.state_dir or tempfile.mkdtemp(prefix="smartmeter-sim-")
    state, backlog, days = state_paths(args.config or "SmartMeter.json", state_dir)
    try:
        if fake is not None:
            fake.clock = sim.wall
        a = app_mod.App(
            cfg,
            _SyncedUart(world.module.uart, sim),
            sim.ticks_ms,
            sim.wall,
            fb=screen.fb if (tty or png) else None,
            show=screen.show,
            buttons=keys,
            http_post=http_post if cfg["ambient"] and not args.no_ambient else None,
            state_path=state,
            backlog_path=backlog,
            history_path=days,
            set_brightness=screen.set_brightness,
            set_flip=screen.set_flip,
            mqtt=mqtt_publisher(mqtt_cfg, sim.ticks_ms, "simulator"),
        )
        log.info(
            "simulator: speed %s, state in %s%s",
            "max" if args.speed <= 0 else "x%g" % args.speed,
            state_dir,
            ", Ambient stand-in at %s" % fake.url if fake else "",
        )
        end = None if args.duration is None else world.clock.now_ms + int(args.duration * 1000)
        while not stop():
            sim.sync()
            if end is not None and world.clock.now_ms >= end:
                break
            ms = a.step()
            screen.render()
            if end is not None:
                ms = min(ms, end - world.clock.now_ms)
            sim.wait(ms)
        sim.closing = True
        a.close(3000)
        r = a.session.reading
        log.info(
            "simulator: stopped after %d s simulated; last reading %s W;"
            " Ambient sent %d, failed %d, waiting %d",
            world.clock.now_ms // 1000,
            r.power_w if r else "-",
            a.amb.sent if a.amb else 0,
            a.amb.failed if a.amb else 0,
            len(a.amb.backlog) if a.amb else 0,
        )
        if a.mqtt is not None:
            log.info("simulator: MQTT states sent %d, failed operations %d", a.mqtt.sent, a.mqtt.failed)
        return 0
    finally:
        keys.close()
        screen.close()
        log.set_sink(print)
        if fake is not None:
            fake.stop()


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="SmartMeter app on a PC: host mode or the simulator")
    ap.add_argument("--config", help="SmartMeter.json (host mode: required)")
    ap.add_argument("--serial", help="serial port of the Wi-SUN module (host mode)")
    ap.add_argument(
        "--png", help="save the screen as PNG after each redraw (sim default: build/sim-screen.png)"
    )
    ap.add_argument("--no-screen", action="store_true", help="plain log lines even on a terminal")
    ap.add_argument("--state-dir", help="folder for the session cache, Ambient backlog and history cache")
    ap.add_argument("--debug", action="store_true", help="log at DEBUG")
    sim = ap.add_argument_group("simulator")
    sim.add_argument("--sim", action="store_true", help="run against the built-in simulator")
    sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second (0 = max)")
    sim.add_argument("--duration", type=float, help="stop after this many simulated seconds")
    sim.add_argument("--solar", type=int, default=0, help="peak solar W (negative power, export)")
    sim.add_argument("--wires", type=int, choices=(2, 3), default=3, help="2 = single-phase 2-wire")
    sim.add_argument("--dialect", default="bp35a1", choices=("bp35a1", "rl7023", "bp35c0"))
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument(
        "--start", type=int, help="simulated start time (Unix s; default now), e.g. 1764730800 = 12:00 JST"
    )
    ap.add_argument(
        "--no-ambient", action="store_true", help="post nothing (host mode); no local Ambient stand-in (sim)"
    )
    sim.add_argument("--ambient-port", type=int, default=0, help="port of the local Ambient stand-in")
    ap.add_argument(
        "--mqtt", metavar="HOST:PORT", help="publish to this MQTT broker (Home Assistant discovery included)"
    )
    args = ap.parse_args(argv)
    if args.sim:
        if args.png is None:
            args.png = os.path.join(ROOT, "build", "sim-screen.png")
    elif not args.config or not args.serial:
        ap.error("host mode needs --config and --serial (or use --sim)")
    return args


def main(argv=None):
    args = parse_args(argv)
    stop = Stop()
    install_signals(stop)
    if args.sim:
        return run_sim(args, stop)
    return run_host(args, stop)


if __name__ == "__main__":
    sys.exit(main())
