"""The config's mqtt section, checked and given its defaults.

lib/app/config.py loads this (lib/lazy.py) only when the file has an mqtt section,
so a config without one keeps none of its code or names. Host tools call it for
--mqtt HOST:PORT. The password is a secret: registered with log.secret, never shown.
Keys and defaults: docs/homeassistant.md.
"""

import json

import log

KEYS = ("host", "port", "user", "password", "client_id", "topic", "discovery_prefix", "interval")


def _show(value):
    """A short printable form of a (non-secret) value for a message."""
    try:
        text = json.dumps(value)
    except Exception:
        text = "?"
    return text if len(text) <= 24 else text[:21] + "..."


def _printable(s):
    """True when s is printable ASCII without spaces."""
    for ch in s:
        if not "!" <= ch <= "~":
            return False
    return True


def _text(value, hi):
    return isinstance(value, str) and 1 <= len(value) <= hi and _printable(value)


def _integer(bad, key, value, lo, hi, default, unit=""):
    if value is None:
        return default
    n = value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        n = int(value.strip())
    if isinstance(n, bool) or not isinstance(n, int) or not lo <= n <= hi:
        bad(key, "expected a whole number from %d to %d%s, got %s" % (lo, hi, unit, _show(value)))
        return default
    return n


def _topic(bad, key, value, default):
    """An MQTT topic to publish under: no wildcards, no empty level at either end."""
    if value is None:
        return default
    if not _text(value, 128) or "+" in value or "#" in value or value[0] == "/" or value[-1] == "/":
        bad(key, 'expected a topic like "smartmeter/kitchen" (no spaces, + or #), got %s' % _show(value))
        return default
    return value


def client_id():
    """The default client id: the MAC in hex on the device, the host name elsewhere."""
    try:
        import binascii

        import machine  # pyright: ignore[reportMissingImports]

        return binascii.hexlify(machine.unique_id()).decode()
    except Exception:
        pass
    try:
        import socket

        return socket.gethostname() or "smartmeter"  # pyright: ignore[reportAttributeAccessIssue]
    except Exception:
        return "smartmeter"


def check(raw):
    """(section or None, problems, warnings) for the config's mqtt value raw.

    section: {host, port, user, password, client_id, topic, discovery_prefix (None: no
    discovery), interval s}; problems and warnings: lists of "key: what is expected".
    """
    problems = []
    warnings = []

    def bad(key, text):
        problems.append("%s: %s" % (key, text))

    if not isinstance(raw, dict):
        bad("mqtt", "expected an object {...}, got %s" % _show(raw))
        return None, problems, warnings
    for k in raw:
        if k not in KEYS:
            warnings.append("mqtt.%s: unknown key, ignored" % k)
    host = raw.get("host")
    if not _text(host, 253):
        what = "missing (expected" if host is None else "expected"
        got = ")" if host is None else ", got %s" % _show(host)
        bad("mqtt.host", '%s the broker\'s name or address, e.g. "192.168.1.10"%s' % (what, got))
    port = _integer(bad, "mqtt.port", raw.get("port"), 1, 65535, 1883)
    user = raw.get("user")
    if user is not None and not (isinstance(user, str) and 1 <= len(user) <= 64):
        bad("mqtt.user", "expected a user name (1 to 64 characters), got %s" % _show(user))
        user = None
    pw = raw.get("password")
    if pw is not None:
        if isinstance(pw, str):
            log.secret(pw)
        if not isinstance(pw, str) or not 1 <= len(pw) <= 128:
            bad("mqtt.password", "expected a string of 1 to 128 characters")
            pw = None
        elif user is None:
            bad("mqtt.password", 'needs "mqtt.user" (MQTT sends a password only with a user name)')
    cid = raw.get("client_id")
    if cid is None:
        cid = client_id()
    elif not _text(cid, 64):
        bad("mqtt.client_id", "expected 1 to 64 letters, digits or signs (no spaces), got %s" % _show(cid))
        cid = "smartmeter"
    topic = _topic(bad, "mqtt.topic", raw.get("topic"), "smartmeter/" + cid)
    prefix = raw.get("discovery_prefix", "homeassistant")
    if prefix is not None:
        prefix = _topic(bad, "mqtt.discovery_prefix", prefix, None)
    interval = _integer(bad, "mqtt.interval", raw.get("interval"), 5, 86400, 10, " s")
    section = {
        "host": host,
        "port": port,
        "user": user,
        "password": pw,
        "client_id": cid,
        "topic": topic,
        "discovery_prefix": prefix,
        "interval": interval,
    }
    return section, problems, warnings
