"""On-device self-test: `make selftest PORT=/dev/ttyUSB0` (the app is not started).

Checks what the app needs from the hardware and the network, with the app's own
drivers (board, wifi, netclock) and SmartMeter.json: the board detected, the
AXP192's battery and USB voltages, colour bars with their names on the LCD
(a wrong colour order or offset shows at a glance), the buttons (A, then B,
within 10 s), the BP35A1 answering SKVER and SKINFO at 115200 on the configured
pins, Wi-Fi (RSSI), the Ambient and NTP hosts resolving, NTP time, the Ambient
host answering (a HEAD request: no record is written). Prints a table to paste
into a bug report and shows it on the LCD. Never joins the meter (SKVER and
SKINFO are the only SK commands), never prints a secret.

`make selftest` mounts build/selftest (links to these modules and the config)
with mpremote and runs this file, so it works on stock MicroPython before
`make deploy` too; on a deployed board `import selftest; selftest.main()`.
"""

import gc
import json
import sys
import time

import log
import machine

WAIT_S = 10  # for the buttons
WIFI_S = 20
SK_MS = 3000  # for each SK command's answer
# Palette for the bars and the table: index -> 0xRRGGBB
COLOURS = (0x000000, 0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF, 0xFFB000, 0x808080) + (0,) * 9
BARS = ((1, "red"), (2, "green"), (3, "blue"), (4, "white"))
_MARK = {"ok": 2, "FAIL": 1, "look": 5, "skip": 6}


class Test:
    def __init__(self, out=print):
        self.out = out
        self.rows = []  # (check, result, details)
        self.cfg = {}

    def row(self, check, result, details):
        self.rows.append((check, result, log.scrub(details)))

    # --- LCD -------------------------------------------------------------------------------
    def screen(self, d, lines, colours=None):
        """Text lines (8x8 font) on display d, one colour index each (default white)."""
        d.fill(0)
        for i, s in enumerate(lines):
            d.text(s[: d.width // 8], 0, i * 8, colours[i] if colours else 4)
        d.show()

    def bars(self, d, prompt):
        """Colour bars with their names on display d, a frame on every edge, a prompt below."""
        w, h = d.width, d.height
        d.fill(0)
        bh = h * 3 // 5
        bw = w // len(BARS)
        for i, (c, name) in enumerate(BARS):
            d.fill_rect(i * bw, 0, bw, bh, c)
            d.text(
                name[: bw // 8], i * bw + max(0, (bw - 8 * len(name)) // 2), bh // 2 - 4, 0 if c == 4 else 4
            )
        d.rect(0, 0, w, h, 4)
        d.text(prompt[: w // 8], 2, bh + (h - bh) // 2 - 4, 4)
        d.show()

    # --- the checks ----------------------------------------------------------------------------
    def config(self, paths):
        for p in paths:
            try:
                with open(p) as f:
                    self.cfg = json.load(f)
                break
            except OSError:
                continue
            except ValueError as e:
                self.row("config", "FAIL", "%s: not valid JSON (%s)" % (p, e))
                return
        else:
            self.row("config", "FAIL", "no SmartMeter.json (tried %s): defaults used" % ", ".join(paths))
            return
        c = self.cfg
        w = c.get("wifi") or {}
        a = c.get("ambient") or {}
        m = c.get("mqtt") or {}
        for s in (c.get("id"), c.get("password"), w.get("password"), a.get("write_key"), m.get("password")):
            if isinstance(s, str):
                log.secret(s)
        self.row("config", "ok", "%s read" % p)

    def board(self):
        """The Board (display, buttons, AXP192) for the config's board name."""
        import board

        t = time.ticks_ms()
        hw = board.setup(self.cfg.get("board"), clock=time.ticks_ms, palette=COLOURS)
        found = "AXP192 at I2C 0x34" if hw.axp is not None else "no AXP192 at I2C 0x34"
        ms = time.ticks_diff(time.ticks_ms(), t)
        if hw.problem:
            self.row("board", "FAIL", "%s; %s" % (found, hw.problem))
        else:
            self.row(
                "board",
                "ok",
                "%s, %s, LCD %dx%d (%d ms)" % (hw.name, found, hw.display.width, hw.display.height, ms),
            )
        return hw

    def power(self, hw):
        axp = hw.axp
        if axp is None:  # Plus2: battery on ADC GPIO38 through a 1:2 divider (M5Unified)
            try:
                mv = machine.ADC(machine.Pin(38)).read_uv() * 2 // 1000
            except (AttributeError, OSError, ValueError) as e:
                self.row("power", "FAIL", "battery ADC (GPIO38): %s" % e)
                return
            self.row(
                "power",
                "ok" if 3000 <= mv <= 4500 else "FAIL",
                "battery %d mV (ADC); USB not measurable" % mv,
            )
            return
        try:
            bat = axp.battery_mv()  # pyright: ignore[reportAttributeAccessIssue]
            b = hw.i2c.readfrom_mem(0x34, 0x5A, 2)  # VBUS voltage, 12 bits, 1.7 mV per LSB
            usb = ((b[0] << 4) | (b[1] & 0x0F)) * 17 // 10
            b = hw.i2c.readfrom_mem(0x34, 0x56, 2)  # ACIN voltage, same scale
            acin = ((b[0] << 4) | (b[1] & 0x0F)) * 17 // 10
        except OSError as e:
            self.row("power", "FAIL", "AXP192 read: %s" % e)
            return
        ok = 3000 <= bat <= 4500 or max(usb, acin) >= 4000  # no battery is fine on USB power
        self.row(
            "power", "ok" if ok else "FAIL", "battery %d mV, USB (VBUS) %d mV, ACIN %d mV" % (bat, usb, acin)
        )

    def buttons(self, hw, wait_s=WAIT_S):
        got = []
        end = time.ticks_add(time.ticks_ms(), wait_s * 1000)
        for want, prompt in (("a", "press A (front)"), ("b", "now B (side)")):
            self.bars(hw.display, prompt)
            while time.ticks_diff(end, time.ticks_ms()) > 0:
                e = hw.buttons.poll()
                if e == want:
                    got.append(want.upper())
                    break
                time.sleep_ms(10)
            else:
                break
        self.row("lcd", "look", "bars red, green, blue, white with their names; a frame on all 4 edges")
        if len(got) == 2:
            self.row("buttons", "ok", "A, then B, within %d s" % wait_s)
        else:
            self.row("buttons", "FAIL", "%s not pressed within %d s" % ("B" if got else "A", wait_s))

    def bp35a1(self):
        u = self.cfg.get("uart") or {}
        tx, rx = u.get("tx", 0), u.get("rx", 26)
        where = "UART tx %s rx %s, 115200" % (tx, rx)
        try:
            uart = machine.UART(
                1, baudrate=115200, bits=8, parity=None, stop=1, tx=tx, rx=rx, timeout=0, rxbuf=1024
            )
        except (ValueError, TypeError, OSError) as e:
            self.row("bp35a1", "FAIL", "%s: %s" % (where, e))
            return
        while uart.any():  # what the module said before (an old session, a boot banner)
            uart.read()
        ver = self._sk(uart, b"SKVER\r\n", b"EVER ")
        info = self._sk(uart, b"SKINFO\r\n", b"EINFO ") if ver else None
        if not ver:
            self.row(
                "bp35a1", "FAIL", "no answer to SKVER within %d ms (%s; HAT seated? pins?)" % (SK_MS, where)
            )
        elif not info or len(info.split()) < 3:
            self.row("bp35a1", "FAIL", "%s but no EINFO (%s)" % (ver, where))
        else:
            self.row("bp35a1", "ok", "%s, MAC %s (%s)" % (ver, info.split()[2], where))

    def _sk(self, uart, cmd, want):
        """Send cmd; the line starting with want (bytes) once OK follows, as str, else None."""
        uart.write(cmd)
        buf = b""
        found = None
        end = time.ticks_add(time.ticks_ms(), SK_MS)
        while time.ticks_diff(end, time.ticks_ms()) > 0:
            b = uart.read()
            if not b:
                time.sleep_ms(10)
                continue
            buf += b
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.strip()
                if line.startswith(want):
                    found = line
                elif line == b"OK" and found:
                    return "".join(chr(c) if 32 <= c < 127 else "?" for c in found)
                elif line.startswith(b"FAIL"):
                    return None
        return None

    def network(self, wait_s=WIFI_S):
        w = self.cfg.get("wifi")
        if not w or not w.get("ssid"):
            for check in ("wifi", "dns", "ntp", "ambient"):
                self.row(check, "skip", "no wifi in the config")
            return
        import netclock
        import wifi

        a = self.cfg.get("ambient") or {}
        url = a.get("url", "http://ambidata.io")
        amb = wifi.host_of(url) if a else None
        rx = (self.cfg.get("uart") or {}).get("rx", 26)
        net = wifi.Wifi(
            w["ssid"], w.get("password"), rx != 36, (netclock.HOST, amb) if amb else (netclock.HOST,)
        )
        net.connect()
        t = time.ticks_ms()
        while not net.is_connected() and time.ticks_diff(time.ticks_ms(), t) < wait_s * 1000:
            time.sleep_ms(100)
        if not net.is_connected():
            self.row("wifi", "FAIL", '"%s" not connected within %d s' % (w["ssid"], wait_s))
            for check in ("dns", "ntp", "ambient"):
                self.row(check, "skip", "no Wi-Fi")
            return
        try:
            rssi = "RSSI %d dBm" % net.wlan.status("rssi")
        except (OSError, ValueError, TypeError):
            rssi = "RSSI unknown"
        ps = ", power save off (RX on GPIO36)" if rx == 36 else ""
        self.row(
            "wifi",
            "ok",
            '"%s", %s, %s (%d ms)%s'
            % (w["ssid"], rssi, net.address(), time.ticks_diff(time.ticks_ms(), t), ps),
        )
        t = time.ticks_ms()
        for _ in net.hosts:
            net.resolve()
        names = ", ".join("%s %s" % (h, net.ip(h) or "not resolved") for h in net.hosts)
        ok = all(net.ip(h) for h in net.hosts)
        self.row("dns", "ok" if ok else "FAIL", "%s (%d ms)" % (names, time.ticks_diff(time.ticks_ms(), t)))
        t = time.ticks_ms()
        if net.ip(netclock.HOST) and net.sync_time():
            tm = time.gmtime()  # the RTC, just set (UTC)
            self.row(
                "ntp",
                "ok",
                "%04d-%02d-%02d %02d:%02d:%02d UTC from %s (%d ms)"
                % (tm[:6] + (netclock.HOST, time.ticks_diff(time.ticks_ms(), t))),
            )
        else:
            self.row("ntp", "FAIL", "no time from %s" % netclock.HOST)
        if not amb:
            self.row("ambient", "skip", "no ambient in the config")
            return
        self.ambient(net, url, amb)

    def ambient(self, net, url, host):
        import requests

        ip = net.ip(host)
        scheme, _, netloc = url.split("/", 3)[:3]
        if scheme == "http:":  # to the cached address, like the app's posts (wifi.Wifi.http_post)
            if not ip:
                self.row("ambient", "FAIL", "%s not resolved" % host)
                return
            target = "http://" + ip + netloc[len(host) :] + "/"
        else:
            target = scheme + "//" + netloc + "/"
        t = time.ticks_ms()
        try:
            r = requests.head(target, headers={"Host": netloc}, timeout=10, parse_headers=False)
            status = r.status_code
            r.close()
        except (OSError, ValueError) as e:
            self.row("ambient", "FAIL", "%s: no answer (%s)" % (host, e))
            return
        self.row(
            "ambient",
            "ok",
            "%s answers HTTP %d (%d ms; HEAD /, nothing written)"
            % (host, status, time.ticks_diff(time.ticks_ms(), t)),
        )

    # --- the report ------------------------------------------------------------------------------
    def report(self, hw=None):
        """Print the table; show it on hw's display too. Returns the number of failed checks."""
        counts = {}
        for _, r, _ in self.rows:
            counts[r] = counts.get(r, 0) + 1
        summary = "%d ok, %d failed, %d to check by eye, %d skipped" % (
            counts.get("ok", 0),
            counts.get("FAIL", 0),
            counts.get("look", 0),
            counts.get("skip", 0),
        )
        impl = sys.implementation
        out = self.out
        out("")
        out("SmartMeter self-test (paste into a bug report)")
        out("| check | result | details |")
        out("|---|---|---|")
        out(
            "| firmware | ok | %s %s; %s |"
            % (impl.name, ".".join(str(v) for v in impl.version[:3]), getattr(impl, "_machine", sys.platform))
        )
        for check, r, d in self.rows:
            out("| %s | %s | %s |" % (check, r, d))
        out(summary)
        if hw is not None:
            lines = ["self-test: %d FAIL" % counts.get("FAIL", 0) if counts.get("FAIL") else "self-test: ok"]
            colours = [1 if counts.get("FAIL") else 2]
            for check, r, _ in self.rows:
                if check == "config" and r == "ok":
                    continue  # 10 lines fit the StickC's 80 px
                lines.append("%-4s %s" % (r, check))
                colours.append(_MARK[r])
            self.screen(hw.display, lines, colours)
        return counts.get("FAIL", 0)


def main(paths=("SmartMeter.json", "/SmartMeter.json"), out=print):
    """Run every check; returns the number that failed."""
    gc.collect()
    log.set_level(log.WARNING)
    t = Test(out)
    t.config(paths)
    try:
        hw = t.board()
    except Exception as e:  # no display: report what was found and go on without the LCD
        t.row("board", "FAIL", "set-up failed: %r" % (e,))
        hw = None
    if hw is not None:
        t.power(hw)
        t.buttons(hw)
    t.bp35a1()
    t.network()
    return t.report(hw)


if __name__ == "__main__":
    main()
