"""SmartMeter.json: validate the configuration and fill in the defaults.

load(text, device=False) -> dict, or raises ConfigError whose .problems lists
every problem found at once, each naming the key and what is expected.
No message ever shows a secret's value (id, password, wifi.password,
ambient.write_key); every secret is registered with log.secret().
The earlier monitor's file (string "contract_amperage" and "collect_date",
"charge_func", "ambient") loads unchanged. Key-by-key reference: docs/config.md.

The result keeps the file's key names with normalised values:
id, password (str); contract_amperage (int); collect_date (int, or a schedule
{month index: day, 0: fallback} from billing.parse.schedule());
charge_func (str | None); tariff (dict | str | None);
ambient (None | {channel_id str, write_key str, url str without trailing /,
interval s}); wifi (None | {ssid, password}); board, module, log_level (str);
uart {tx, rx} (GPIO numbers); utc_offset_hours (int | float) and
utc_offset_s (int s); display {brightness 0..100, night None |
{start, end (minutes after local midnight), brightness}};
refresh_interval (s); mqtt (None | {host, port, user, password, client_id,
topic, discovery_prefix (None = no discovery), interval s}: lib/mqtt/settings.py);
warnings (list of str: unknown keys and the like).
"""

import json

import log

MAX_BYTES = 16384
AMPERAGES = (10, 15, 20, 30, 40, 50, 60)
BOARDS = ("m5stickc", "m5stickc_plus", "m5stickc_plus2")
MODULES = ("auto", "bp35a1", "bp35c0")
LEVELS = ("info", "debug")
KEYS = (
    "id",
    "password",
    "contract_amperage",
    "collect_date",
    "charge_func",
    "tariff",
    "ambient",
    "wifi",
    "board",
    "uart",
    "module",
    "utc_offset_hours",
    "display",
    "refresh_interval",
    "log_level",
    "mqtt",
)
AMBIENT_URL = "http://ambidata.io"
AMBIENT_DAILY = 3000
# GPIOs the boards use for the LCD, I2C and buttons: not available to the HAT UART
_BUSY = {
    5: "LCD",
    13: "LCD",
    15: "LCD",
    18: "LCD",
    23: "LCD",
    21: "I2C",
    22: "I2C",
    37: "button A",
    39: "button B",
}
_NO_GPIO = (6, 7, 8, 9, 10, 11, 20, 24, 28, 29, 30, 31)  # flash, LED or absent on the ESP32


class ConfigError(Exception):
    """Invalid configuration; .problems lists every problem (key: what is expected)."""

    def __init__(self, problems):
        super().__init__("; ".join(problems))
        self.problems = problems


def _show(value):
    """A short printable form of a (non-secret) value for a message."""
    try:
        text = json.dumps(value)
    except Exception:
        text = "?"
    return text if len(text) <= 24 else text[:21] + "..."


def _int(value):
    """value as an int when it is an int or a string of digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s and s.isdigit() and len(s) < 10:
            return int(s)
    return None


def _number(value):
    """value when it is an int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _printable(s):
    """True when s is printable ASCII without spaces (safe on an SK command line)."""
    for ch in s:
        if not "!" <= ch <= "~":
            return False
    return True


def _hexdigits(s):
    for ch in s:
        if ch not in "0123456789abcdefABCDEF":
            return False
    return True


class _Checker:
    def __init__(self):
        self.problems = []
        self.warnings = []

    def bad(self, key, text):
        self.problems.append("%s: %s" % (key, text))

    def secret(self, key, value, length=None, lo=1, hi=64, required=True):
        """A credential: checked by type and length only, never shown."""
        if value is None:
            if required:
                self.bad(key, "missing (expected a string%s)" % self._chars(length, lo, hi))
            return None
        if isinstance(value, str):
            log.secret(value)
        if length is not None:
            want = "expected a string of %d characters" % length
            if not isinstance(value, str) or len(value) != length or not _printable(value):
                self.bad(key, want + " (letters and digits, no spaces)")
                return None
        elif not isinstance(value, str) or not lo <= len(value) <= hi:
            self.bad(key, "expected a string%s" % self._chars(None, lo, hi))
            return None
        return value

    @staticmethod
    def _chars(length, lo, hi):
        if length is not None:
            return " of %d characters" % length
        if lo == hi:
            return " of %d characters" % lo
        return " of %d to %d characters" % (lo, hi)

    def choice(self, key, value, choices, default):
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in choices:
            return value.lower()
        self.bad(key, "expected one of %s, got %s" % (", ".join(choices), _show(value)))
        return default

    def integer(self, key, value, lo, hi, default, unit=""):
        if value is None:
            return default
        n = _int(value)
        if n is None or not lo <= n <= hi:
            self.bad(key, "expected a whole number from %d to %d%s, got %s" % (lo, hi, unit, _show(value)))
            return default
        return n

    def section(self, key, value, keys):
        """A nested object: dict or None; unknown keys become warnings."""
        if value is None:
            return None
        if not isinstance(value, dict):
            self.bad(key, "expected an object {...}, got %s" % _show(value))
            return None
        for k in value:
            if k not in keys:
                self.warnings.append("%s.%s: unknown key, ignored" % (key, k))
        return value


def _minutes(text):
    """'HH:MM' -> minutes after midnight, or None."""
    if not isinstance(text, str) or len(text) not in (4, 5) or text[-3] != ":":
        return None
    hh = _int(text[:-3])
    mm = _int(text[-2:])
    if hh is None or mm is None or hh > 23 or mm > 59:
        return None
    return hh * 60 + mm


def _check_pin(c, key, value, default, output):
    if value is None:
        return default
    pin = _int(value)
    if pin is None or not 0 <= pin <= 39 or pin in _NO_GPIO:
        c.bad(key, "expected an ESP32 GPIO number (0-39, e.g. %d), got %s" % (default, _show(value)))
        return default
    if pin in _BUSY:
        c.bad(key, "GPIO %d is used by the %s; the HAT uses 0 (TX) and 26 or 36 (RX)" % (pin, _BUSY[pin]))
        return default
    if output and pin >= 34:
        c.bad(key, "GPIO %d is input-only and cannot transmit; the HAT's TX is GPIO 0" % pin)
        return default
    return pin


def _check_ambient(c, raw):
    amb = c.section("ambient", raw, ("channel_id", "write_key", "url", "interval"))
    if amb is None:
        return None
    hint = ' (remove "ambient" to run without Ambient)'
    channel = amb.get("channel_id")
    if _int(channel) is None:
        if channel is None:
            c.bad("ambient.channel_id", 'missing (expected the channel number, e.g. "12345")' + hint)
        else:
            c.bad(
                "ambient.channel_id",
                "expected the channel number (digits), got %s%s" % (_show(channel), hint),
            )
    key = c.secret("ambient.write_key", amb.get("write_key"), 16)
    if key is not None and not _hexdigits(key):
        c.bad("ambient.write_key", "expected a string of 16 hex digits")
    url = amb.get("url", AMBIENT_URL)
    if (
        not isinstance(url, str)
        or not (url.startswith("http://") or url.startswith("https://"))
        or len(url) > 200
    ):
        c.bad("ambient.url", "expected an http:// or https:// address, got %s" % _show(url))
        url = AMBIENT_URL
    while url.endswith("/"):
        url = url[:-1]
    interval = c.integer("ambient.interval", amb.get("interval"), 5, 86400, 30, " s")
    if interval * AMBIENT_DAILY < 86400:
        c.warnings.append(
            "ambient.interval: %d s makes %d records a day; Ambient takes %d,"
            " sends pause when the day's quota is used" % (interval, 86400 // interval, AMBIENT_DAILY)
        )
    return {"channel_id": str(_int(channel)), "write_key": key, "url": url, "interval": interval}


def _check_display(c, raw):
    disp = c.section("display", raw, ("brightness", "night"))
    out = {"brightness": 100, "night": None}
    if disp is None:
        return out
    out["brightness"] = c.integer("display.brightness", disp.get("brightness"), 0, 100, 100, " %")
    night = c.section("display.night", disp.get("night"), ("start", "end", "brightness"))
    if night is None:
        return out
    start = _minutes(night.get("start"))
    end = _minutes(night.get("end"))
    for key, value, got in (("start", start, night.get("start")), ("end", end, night.get("end"))):
        if value is None:
            c.bad("display.night." + key, 'expected a local time "HH:MM" (e.g. "23:00"), got %s' % _show(got))
    level = c.integer("display.night.brightness", night.get("brightness"), 0, 100, 10, " %")
    if start is not None and end is not None:
        out["night"] = {"start": start, "end": end, "brightness": level}
    return out


def _check_tariff(c, charge_func, tariff_spec, amperage):
    if charge_func is not None and tariff_spec is not None:
        c.bad("tariff", 'give either "tariff" or "charge_func", not both')
        return
    if charge_func is not None and (not isinstance(charge_func, str) or not charge_func):
        c.bad("charge_func", "expected a preset or plug-in name (a string), got %s" % _show(charge_func))
        return
    if tariff_spec is not None and not isinstance(tariff_spec, (str, dict)):
        c.bad("tariff", "expected a preset name or a tariff object {...}, got %s" % _show(tariff_spec))
        return
    key = "tariff" if tariff_spec is not None else "charge_func"
    from billing import tariff

    try:
        t = tariff.load(charge_func=charge_func, tariff=tariff_spec)
    except ValueError as e:  # tariff.TariffError
        msg = str(e)
        if msg.startswith(key + " "):
            msg = key + ":" + msg[len(key) :]
        c.problems.append(
            msg if msg.startswith(key + ":") or msg.startswith(key + ".") else "%s: %s" % (key, msg)
        )
        return
    if amperage is not None:
        try:
            t.check(amperage)
        except ValueError as e:
            c.bad("contract_amperage", str(e))


def load(text, device=False):
    """Validate the text of SmartMeter.json; return the normalised dict.

    device=True also requires wifi {ssid, password}. Raises ConfigError.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode()
        except Exception:
            raise ConfigError(["file: not UTF-8 text"])
    if len(text) > MAX_BYTES:
        raise ConfigError(["file: too large (%d bytes, at most %d)" % (len(text), MAX_BYTES)])
    if not text.strip():
        raise ConfigError(["file: empty (expected a JSON object, see SmartMeter.example.json)"])
    if text[:1] == "\ufeff":  # a UTF-8 byte order mark (Windows editors): not part of the JSON
        text = text[1:]
    try:
        raw = json.loads(text)
    except Exception as e:
        where = ""
        line = getattr(e, "lineno", None)  # CPython (deploy, host mode) knows where; MicroPython not
        if line is not None:
            where = " at line %d, column %d" % (line, getattr(e, "colno", 0))
        raise ConfigError(["file: not valid JSON%s (check quotes, commas and braces)" % where])
    if not isinstance(raw, dict):
        raise ConfigError(["file: expected a JSON object {...} at the top level"])
    return _check(raw, device)


def _check(raw, device):
    c = _Checker()
    for k in raw:
        if k not in KEYS:
            c.warnings.append("%s: unknown key, ignored" % k)
    cfg = {}
    cfg["id"] = c.secret("id", raw.get("id"), 32)
    cfg["password"] = c.secret("password", raw.get("password"), 12)
    amp = raw.get("contract_amperage")
    n = _int(amp)
    if n not in AMPERAGES:
        what = "missing (expected" if amp is None else "expected"
        got = ")" if amp is None else ", got %s" % _show(amp)
        c.bad("contract_amperage", "%s one of %s%s" % (what, ",".join(str(a) for a in AMPERAGES), got))
        n = None
    cfg["contract_amperage"] = n
    if raw.get("collect_date") is None:
        c.bad("collect_date", "missing (expected the meter-reading day, 1 to 31)")
    cd = raw.get("collect_date")
    if isinstance(cd, dict):  # a schedule {"2026-12": 21, ..., "default": 20}
        import lazy

        try:
            cfg["collect_date"] = lazy.call("billing.parse", "schedule", cd)
        except ValueError as e:
            c.bad("collect_date", str(e))
            cfg["collect_date"] = None
    else:
        cfg["collect_date"] = c.integer("collect_date", cd, 1, 31, None)
    cfg["charge_func"] = raw.get("charge_func")
    cfg["tariff"] = raw.get("tariff")
    _check_tariff(c, cfg["charge_func"], cfg["tariff"], n)
    cfg["ambient"] = _check_ambient(c, raw.get("ambient"))
    cfg["mqtt"] = None
    if raw.get("mqtt") is not None:  # its checker is loaded only for a file that has the section
        import lazy

        cfg["mqtt"], bad, warn = lazy.call("mqtt.settings", "check", raw["mqtt"])
        c.problems.extend(bad)
        c.warnings.extend(warn)
    wifi = c.section("wifi", raw.get("wifi"), ("ssid", "password"))
    if wifi is None:
        if device:
            c.bad("wifi", 'missing (expected {"ssid": ..., "password": ...} on the device)')
        cfg["wifi"] = None
    else:
        ssid = wifi.get("ssid")
        if not isinstance(ssid, str) or not 1 <= len(ssid) <= 32:
            c.bad("wifi.ssid", "expected the network name (1 to 32 characters), got %s" % _show(ssid))
        pw = c.secret("wifi.password", wifi.get("password", ""), None, 0, 63)
        if pw is not None and 0 < len(pw) < 8:
            c.bad("wifi.password", 'expected 8 to 63 characters (or "" for an open network)')
        cfg["wifi"] = {"ssid": ssid, "password": pw}
    cfg["board"] = c.choice("board", raw.get("board"), BOARDS, "m5stickc")
    uart = c.section("uart", raw.get("uart"), ("tx", "rx")) or {}
    tx = _check_pin(c, "uart.tx", uart.get("tx"), 0, True)
    rx = _check_pin(c, "uart.rx", uart.get("rx"), 26, False)
    if tx == rx:
        c.bad("uart", "tx and rx must be different pins (both are GPIO %d)" % tx)
    cfg["uart"] = {"tx": tx, "rx": rx}
    cfg["module"] = c.choice("module", raw.get("module"), MODULES, "auto")
    off = raw.get("utc_offset_hours", 9)
    hours = _number(off)
    if hours is None or not -12 <= hours <= 14 or int(hours * 4) != hours * 4:
        c.bad("utc_offset_hours", "expected hours from -12 to 14 (e.g. 9 for Japan), got %s" % _show(off))
        hours = 9
    cfg["utc_offset_hours"] = hours
    cfg["utc_offset_s"] = int(hours * 3600)
    cfg["display"] = _check_display(c, raw.get("display"))
    cfg["refresh_interval"] = c.integer("refresh_interval", raw.get("refresh_interval"), 5, 3600, 10, " s")
    cfg["log_level"] = c.choice("log_level", raw.get("log_level"), LEVELS, "info")
    if c.problems:
        raise ConfigError(c.problems)
    cfg["warnings"] = c.warnings
    return cfg


def load_file(path, device=False):
    """Read and validate a config file; a missing or huge file is a ConfigError too."""
    try:
        import os

        size = os.stat(path)[6]
    except OSError:
        raise ConfigError(["file: %s not found (copy SmartMeter.example.json and edit it)" % path])
    if size > MAX_BYTES:
        raise ConfigError(["file: too large (%d bytes, at most %d)" % (size, MAX_BYTES)])
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError:
        raise ConfigError(["file: %s cannot be read" % path])
    return load(text, device)


def file_stamp(path):
    """(size, mtime) of path, or None: lets a waiting app notice an edited config."""
    try:
        import os

        st = os.stat(path)
        return (st[6], st[8])
    except OSError:
        return None
