"""MQTT payloads, discovery configs, the publisher's steps and the mqtt config section, without a network.

Plain asserts: run by pytest and by `make test-mp` on the MicroPython wasm build.
The broker tests (mosquitto, paho, the device's umqtt) are host_tests/test_mqtt.py.
"""

import json
import sys

import lazy
import log
import mqtt
from app import config
from mqtt import discovery

RBID = "0000003A0000000000000000009F1C2B"
PWD = "Sg7kPq2Xz9Lm"
MQTT_PW = "broker-Secret-77"

# what Home Assistant needs per sensor, written out here (not taken from lib/mqtt/discovery.py)
CLASSES = {
    "power_w": ("power", "measurement", "W"),
    "current_r_a": ("current", "measurement", "A"),
    "current_t_a": ("current", "measurement", "A"),
    "import_kwh": ("energy", "total_increasing", "kWh"),
    "export_kwh": ("energy", "total_increasing", "kWh"),
    "period_kwh": ("energy", "total_increasing", "kWh"),
    "charge_yen": ("monetary", "total", "JPY"),
}


class Reading:
    def __init__(self, t=1000, power_w=-1234, r=23, tt=-5, kwh=12345.6, rev=7.25):
        self.t = t
        self.power_w = power_w
        self.current_r_da = r
        self.current_t_da = tt
        self.cumulative_kwh = kwh
        self.reverse_kwh = rev


def _cfg(**over):
    m = {"host": "127.0.0.1", "user": "meter", "password": MQTT_PW, "client_id": "m5-01"}
    m.update(over)
    doc = {
        "id": RBID,
        "password": PWD,
        "contract_amperage": 40,
        "collect_date": 22,
        "charge_func": "tepco_b",
        "mqtt": m,
    }
    return config.load(json.dumps(doc))


def _problems(m):
    doc = {
        "id": RBID,
        "password": PWD,
        "contract_amperage": 40,
        "collect_date": 22,
        "charge_func": "tepco_b",
        "mqtt": m,
    }
    try:
        config.load(json.dumps(doc))
    except config.ConfigError as e:
        return e.problems
    raise AssertionError("config accepted")


# --- state ------------------------------------------------------------------------------------
def test_state_carries_the_reading_and_the_figures():
    d = json.loads(mqtt.state(Reading(), {"period_kwh": 123.456789, "charge_yen": 4567}))
    assert d["power_w"] == -1234 and type(d["power_w"]) is int
    assert d["current_r_a"] == 2.3 and d["current_t_a"] == -0.5
    assert d["import_kwh"] == 12345.6 and d["export_kwh"] == 7.25
    assert d["period_kwh"] == 123.457 and d["charge_yen"] == 4567
    assert sorted(d) == sorted(
        ["power_w", "current_r_a", "current_t_a", "import_kwh", "export_kwh", "period_kwh", "charge_yen"]
    )


def test_state_unknown_values_are_null_and_forecast_keys_pass_through():
    r = Reading(tt=None, kwh=None, rev=None)
    d = json.loads(mqtt.state(r, {"period_kwh": None, "charge_yen": None, "forecast_yen": 9100}))
    assert d["current_t_a"] is None and d["import_kwh"] is None and d["export_kwh"] is None
    assert d["period_kwh"] is None and d["charge_yen"] is None
    assert d["forecast_yen"] == 9100


def test_state_zero_current_is_zero():
    d = json.loads(mqtt.state(Reading(r=0, tt=0, power_w=0), {}))
    assert d["current_r_a"] == 0 and d["current_t_a"] == 0 and d["power_w"] == 0


# --- discovery --------------------------------------------------------------------------------
class _Pub:
    def __init__(self, cfg, model="test model"):
        self.cfg = cfg
        self.model = model


def _configs(m, figures):
    out = []
    i = 0
    while True:
        msg = discovery.config(i, _Pub(m), figures)
        if msg is None:
            return out
        out.append((msg[0], json.loads(msg[1])))
        i += 1
        assert i < 50


def test_discovery_one_config_per_sensor_with_the_schema():
    m = _cfg()["mqtt"]
    msgs = _configs(m, {"period_kwh": None, "charge_yen": None})
    keys = [t.split("/")[3] for t, _ in msgs]
    assert sorted(keys) == sorted(CLASSES), keys
    uids = set()
    for topic, p in msgs:
        key = topic.split("/")[3]
        assert topic == "homeassistant/sensor/m5-01/%s/config" % key
        assert p["state_topic"] == "smartmeter/m5-01/state"
        assert p["availability_topic"] == "smartmeter/m5-01/status"
        assert p["value_template"] == "{{ value_json.%s }}" % key
        dev_cla, stat_cla, unit = CLASSES[key]
        assert p["device_class"] == dev_cla and p["state_class"] == stat_cla, (key, p)
        assert p["unit_of_measurement"] == unit
        dev = p["device"]
        assert dev["identifiers"] == ["m5-01"]
        for k in ("name", "model", "manufacturer", "sw_version"):
            assert isinstance(dev[k], str) and dev[k], (k, dev)
        assert dev["model"] == "test model"
        assert p["name"]
        uids.add(p["unique_id"])
    assert len(uids) == len(msgs)
    assert all(u.startswith("m5-01") for u in uids)


def test_discovery_announces_forecast_keys_only_when_the_app_has_them():
    m = _cfg()["mqtt"]
    base = [t for t, _ in _configs(m, {"period_kwh": 1.0})]
    more = _configs(m, {"period_kwh": 1.0, "forecast_kwh": None, "forecast_yen": 1})
    assert len(more) == len(base) + 2
    extra = dict((t.split("/")[3], p) for t, p in more if t not in base)
    assert sorted(extra) == ["forecast_kwh", "forecast_yen"]
    assert extra["forecast_yen"]["device_class"] == "monetary"
    assert extra["forecast_yen"]["unit_of_measurement"] == "JPY"
    assert "state_class" not in extra["forecast_kwh"]  # a forecast is no measured total


def test_discovery_node_id_keeps_to_the_topic_characters():
    m = _cfg(client_id="pi.local+x", topic="home/meter", discovery_prefix="ha")["mqtt"]
    topic, p = _configs(m, {})[0]
    assert topic.startswith("ha/sensor/pi_local_x/"), topic
    assert p["state_topic"] == "home/meter/state"


# --- the publisher's steps --------------------------------------------------------------------
class FakeClient:
    log = []
    fail = None  # an OSError to raise on the next operation

    def __init__(self, host, port, client_id, user, password, topic, keepalive):
        FakeClient.args = (host, port, client_id, user, password, topic, keepalive)

    def _op(self, what):
        FakeClient.log.append(what)
        e = FakeClient.fail
        if e is not None:
            FakeClient.fail = None
            raise e

    def connect(self):
        self._op(("connect",))

    def publish(self, topic, msg, retain):
        self._op(("publish", topic, msg, retain))

    def close(self):
        FakeClient.log.append(("close",))


def _figures():
    return {"period_kwh": 12.5, "charge_yen": 400}


def _publisher(**over):
    FakeClient.log = []
    FakeClient.fail = None
    cfg = _cfg(**over)["mqtt"]
    return mqtt.Publisher(cfg, FakeClient, 0), cfg


def test_publisher_builds_the_client_with_the_will_and_a_keepalive():
    _publisher(interval=20)
    host, port, cid, user, pw, will, keep = FakeClient.args
    assert (host, port, cid, user, pw) == ("127.0.0.1", 1883, "m5-01", "meter", MQTT_PW)
    assert will == "smartmeter/m5-01/status"
    assert keep >= 20 * 1.5  # the broker must not drop a client that publishes every 20 s


def test_publisher_one_operation_per_poll_connect_online_discovery_state():
    lazy.drop("mqtt.discovery")  # this file imported it
    p, _ = _publisher()
    r = Reading(t=500)
    n = 0
    while True:
        before = len(FakeClient.log)
        p.poll(0, True, r, _figures)
        assert len(FakeClient.log) - before == 1, FakeClient.log[before:]
        n += 1
        if FakeClient.log[-1][1:2] == ("smartmeter/m5-01/state",):
            break
        assert n < 30
    ops = FakeClient.log
    assert ops[0] == ("connect",)
    assert ops[1] == ("publish", "smartmeter/m5-01/status", b"online", True)
    conf = [o for o in ops if o[0] == "publish" and o[1].endswith("/config")]
    assert len(conf) == len(CLASSES) and all(o[3] is True for o in conf)
    assert len(ops) == 2 + len(conf) + 1
    state = json.loads(ops[-1][2])
    assert state["power_w"] == -1234 and state["charge_yen"] == 400 and ops[-1][3] is True
    assert "mqtt.discovery" not in sys.modules  # loaded for the call only
    assert p.sent == 1
    # nothing more until the interval has passed
    p.poll(9999, True, r, _figures)
    assert len(FakeClient.log) == len(ops)
    # the same reading again: a keep-alive, not a second state
    p.poll(10000, True, r, _figures)
    assert FakeClient.log[-1] == ("publish", "smartmeter/m5-01/status", b"online", True)
    r.t = 10500
    p.poll(20000, True, r, _figures)
    assert FakeClient.log[-1][1] == "smartmeter/m5-01/state" and p.sent == 2


def test_publisher_without_discovery_goes_straight_to_the_state():
    p, _ = _publisher(discovery_prefix=None)
    r = Reading()
    for _ in range(3):
        p.poll(0, True, r, _figures)
    assert [o[:2] for o in FakeClient.log] == [
        ("connect",),
        ("publish", "smartmeter/m5-01/status"),
        ("publish", "smartmeter/m5-01/state"),
    ]


def test_publisher_backs_off_after_failures_and_reconnects():
    p, _ = _publisher(discovery_prefix=None)
    lines = []
    log.set_sink(lines.append)
    try:
        FakeClient.fail = OSError("MQTT broker 127.0.0.1:1883: not authorised")
        p.poll(0, True, None, _figures)
        assert not p.connected and p.failed == 1 and FakeClient.log[-1] == ("close",)
        assert "not authorised" in p.last_error
        assert any("not authorised" in x for x in lines), lines
        p.poll(4999, True, None, _figures)  # back-off: 5 s
        assert len(FakeClient.log) == 2
        FakeClient.fail = OSError("refused")
        p.poll(5000, True, None, _figures)
        assert p.failed == 2
        p.poll(5000 + 9999, True, None, _figures)  # then 10 s
        assert len(FakeClient.log) == 4
        p.poll(15000, True, None, _figures)
        assert p.connected
        p.poll(15000, True, None, _figures)  # online
        # a publish failing mid-run: closed, retried after 5 s again
        FakeClient.fail = OSError("connection lost")
        p.poll(15000, True, Reading(), _figures)
        assert not p.connected and p.due == 20000
    finally:
        log.set_sink(print)
    assert not any(MQTT_PW in x for x in lines)


def test_publisher_waits_while_offline_and_says_offline_on_close():
    p, _ = _publisher(discovery_prefix=None)
    p.poll(0, False, None, _figures)
    assert FakeClient.log == [] and p.due == 1000  # rechecks in a second, no busy loop
    p.poll(1000, True, None, _figures)
    p.poll(1000, True, None, _figures)
    p.close()
    assert FakeClient.log[-2:] == [("publish", "smartmeter/m5-01/status", b"offline", True), ("close",)]
    assert not p.connected


def test_keepalive_follows_the_interval():
    _publisher(interval=10)
    assert FakeClient.args[-1] == 30
    _publisher(interval=600)
    assert FakeClient.args[-1] == 1800


# --- the mqtt config section ------------------------------------------------------------------
def test_config_mqtt_defaults():
    doc = {"id": RBID, "password": PWD, "contract_amperage": 40, "collect_date": 22, "charge_func": "tepco_b"}
    assert config.load(json.dumps(doc))["mqtt"] is None  # optional
    doc["mqtt"] = {"host": "broker.lan"}
    m = config.load(json.dumps(doc))["mqtt"]
    assert m["port"] == 1883 and m["interval"] == 10
    assert m["user"] is None and m["password"] is None
    assert m["discovery_prefix"] == "homeassistant"
    assert isinstance(m["client_id"], str) and m["client_id"]
    assert m["topic"] == "smartmeter/" + m["client_id"]
    m = _cfg(discovery_prefix=None, port=8883, interval=5, topic="a/b")["mqtt"]
    assert m["discovery_prefix"] is None and m["port"] == 8883 and m["interval"] == 5 and m["topic"] == "a/b"


def test_config_mqtt_problems_name_the_key_and_hide_the_password():
    problems = _problems({"port": 0, "password": MQTT_PW, "interval": 4, "topic": "a/#", "client_id": ""})
    keys = [p.split(":")[0] for p in problems]
    assert keys == [
        "mqtt.host",
        "mqtt.port",
        "mqtt.password",
        "mqtt.client_id",
        "mqtt.topic",
        "mqtt.interval",
    ], problems
    assert "missing" in problems[0]
    assert "user" in problems[2]
    assert not any(MQTT_PW in p for p in problems)
    assert _problems({"host": "h", "discovery_prefix": "/ha"})[0].startswith("mqtt.discovery_prefix:")
    assert _problems({"host": "h", "user": 5})[0].startswith("mqtt.user:")
    assert _problems("broker")[0].startswith("mqtt:")


def test_config_mqtt_password_is_a_registered_secret():
    _cfg()
    assert log.scrub("pw " + MQTT_PW) == "pw ***"


def test_config_loads_the_mqtt_checker_only_for_a_file_with_the_section():
    lazy.drop("mqtt.settings")
    doc = {"id": RBID, "password": PWD, "contract_amperage": 40, "collect_date": 22, "charge_func": "tepco_b"}
    config.load(json.dumps(doc))
    assert "mqtt.settings" not in sys.modules
    assert _cfg()["mqtt"]["host"] == "127.0.0.1"
    assert "mqtt.settings" not in sys.modules  # dropped again after the check
    w = config.load(json.dumps(dict(doc, mqtt={"host": "h", "hots": 1})))["warnings"]
    assert "mqtt.hots: unknown key, ignored" in w
