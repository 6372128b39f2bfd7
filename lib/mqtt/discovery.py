"""Home Assistant MQTT discovery: one retained config per sensor, sent after each connect.

Loaded for one call (lib/lazy.py) and dropped again: it is needed only right
after a connect. Topic: <discovery_prefix>/sensor/<client_id>/<key>/config.
Schema and classes: docs/homeassistant.md.
"""

import json
import sys

# (key in the state message, name, device_class, state_class, unit); optional ones are
# announced only when the app's figures carry their key
SENSORS = (
    ("power_w", "Power", "power", "measurement", "W"),
    ("current_r_a", "Current R", "current", "measurement", "A"),
    ("current_t_a", "Current T", "current", "measurement", "A"),
    ("import_kwh", "Energy import", "energy", "total_increasing", "kWh"),
    ("export_kwh", "Energy export", "energy", "total_increasing", "kWh"),
)
OPTIONAL = (
    ("period_kwh", "Energy this billing period", "energy", "total_increasing", "kWh"),
    ("charge_yen", "Charge this billing period", "monetary", "total", "JPY"),
    ("today_kwh", "Energy today", "energy", "total_increasing", "kWh"),
    ("forecast_kwh", "Forecast energy this billing period", "energy", None, "kWh"),
    ("forecast_yen", "Forecast charge this billing period", "monetary", None, "JPY"),
)


def sensors(keys):
    """The sensor rows to announce for the app's figure keys."""
    return SENSORS + tuple(s for s in OPTIONAL if s[0] in keys)


def node_id(client_id):
    """client_id with every character outside [a-zA-Z0-9_-] made "_" (a discovery topic level)."""
    out = ""
    for ch in client_id:
        out += ch if ch.isalpha() and ord(ch) < 128 or ch.isdigit() or ch in "_-" else "_"
    return out


def sw_version():
    impl = sys.implementation
    return "SmartMeter on %s %s" % (impl.name, ".".join(str(n) for n in impl.version[:3]))


def payload(row, cfg, model):
    """The config dict of one sensor row for the mqtt config section cfg."""
    key, name, dev_cla, stat_cla, unit = row
    node = node_id(cfg["client_id"])
    topic = cfg["topic"]
    d = {
        "name": name,
        "unique_id": node + "_" + key,
        "state_topic": topic + "/state",
        "value_template": "{{ value_json.%s }}" % key,
        "availability_topic": topic + "/status",
        "device_class": dev_cla,
        "unit_of_measurement": unit,
        "device": {
            "identifiers": [node],
            "name": "Smart meter " + node,
            "model": model,
            "manufacturer": "SmartMeter (B-route)",
            "sw_version": sw_version(),
        },
    }
    if stat_cla:
        d["state_class"] = stat_cla
    return d


def config(i, pub, figures):
    """(topic, JSON bytes) of the i-th discovery config, None past the last one.

    pub: the Publisher (its cfg and model); figures: the app's figures dict (its keys).
    """
    rows = sensors(figures)
    if i >= len(rows):
        return None
    cfg = pub.cfg
    row = rows[i]
    topic = "%s/sensor/%s/%s/config" % (cfg["discovery_prefix"], node_id(cfg["client_id"]), row[0])
    return topic, json.dumps(payload(row, cfg, pub.model)).encode()
