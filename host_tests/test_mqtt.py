"""MQTT against a real broker: mosquitto (the Debian package) on a free local port, with a password file.

The app runs against the BP35A1 + meter simulator on the virtual clock and publishes through
host/mqtt_paho.py; a paho subscriber checks the discovery configs and the state messages against
the simulated meter. The broker is stopped and started again mid-run; a wrong password must give
a clear error without the secret. The device path: the app on the 32-bit esp32-like MicroPython
(../shared/tools/micropython-esp32like) publishing through the frozen umqtt.simple
(firmware/mqtt_umqtt.py) to the same mosquitto, its last will checked by ending the process.

mosquitto missing is a failure that says how to install it, never a skip.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import demo
import harness
import log
import mosquitto
import mqtt
import mqtt_paho
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from test_e2e_sim import tepco_b_40_yen
from test_mqtt_payloads import CLASSES  # what Home Assistant needs per sensor, written out there

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.environ.get(
    "MICROPYTHON_ESP32LIKE",
    os.path.join(os.path.dirname(ROOT), "shared", "tools", "micropython-esp32like", "micropython"),
)
USER = "meter"
PASSWORD = "Br0ker-pass-9"
RBID = harness.bp35a1.DEFAULT_ID
PWD = harness.bp35a1.DEFAULT_PASSWORD
JST = 9 * 3600
KEYS = tuple(CLASSES)  # power_w .. charge_yen
WAIT_S = 10  # bounded waits for messages to cross the broker


def unix(y, m, d, hh=0, mm=0):
    import billing

    return billing.days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 - JST


def wait_for(pred, what, timeout=WAIT_S):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    try:
        b = mosquitto.Broker(str(tmp_path_factory.mktemp("mosquitto")), USER, PASSWORD)
    except mosquitto.Missing as e:  # a failure with the hint, never a skip
        pytest.fail("%s; .ci/run installs it" % e)
    b.start()
    yield b
    b.stop()


class Listener:
    """A paho subscriber on '#': every message as (topic, payload bytes, retain)."""

    count = 0

    def __init__(self, port):
        Listener.count += 1
        self.msgs = []
        self.ready = threading.Event()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id="listener-%d" % Listener.count)
        c.username_pw_set(USER, PASSWORD)
        c.on_connect = lambda c, u, f, rc, p: c.subscribe("#")
        c.on_subscribe = lambda c, u, mid, rcs, p: self.ready.set()
        c.on_message = lambda c, u, m: self.msgs.append((m.topic, bytes(m.payload), bool(m.retain)))
        c.connect("127.0.0.1", port, 30)
        c.loop_start()
        self.client = c
        assert self.ready.wait(WAIT_S), "the listener did not subscribe"

    def on(self, topic):
        return [(p, r) for t, p, r in list(self.msgs) if t == topic]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def mqtt_doc(port, password=PASSWORD, client_id="sim-meter"):
    return {"host": "127.0.0.1", "port": port, "user": USER, "password": password, "client_id": client_id}


def make_cfg(mqtt_section, **over):
    return demo.config(mqtt=mqtt_section, **over)


def int_doc(mqtt_section):
    """The demo config (the simulator's meter, tepco_b, 40 A, reading day 22), numbers as numbers."""
    return demo.doc(mqtt=mqtt_section, contract_amperage=40, collect_date=22)


class Recorder(mqtt_paho.Client):
    """The paho client, noting each state it publishes with the wall time (s) of its reading."""

    world = None
    app = None
    sent = []

    def publish(self, topic, msg, retain):
        super().publish(topic, msg, retain)
        if topic.endswith("/state"):
            clk = Recorder.world.clock
            r = Recorder.app.session.reading
            Recorder.sent.append((msg, clk.wall() - (clk.now_ms - r.t) / 1000))


def make_app(world, tmp_path, cfg, client_class=Recorder, **kw):
    pub = mqtt.Publisher(cfg["mqtt"], client_class, world.clock.ticks_ms())
    a = demo.app(cfg, world, tmp_path, mqtt=pub, **kw)
    Recorder.world = world
    Recorder.app = a
    Recorder.sent = []
    return a


def run_app(a, world, seconds):
    """Step the app for seconds of virtual time, jumping from event to event (sim/demo.py)."""
    demo.run_app(a, world.clock, int(seconds * 1000), world.module)


def check_discovery(listener, node, topic, retained=False):
    """Every sensor's config is there, each with the schema Home Assistant needs.

    retained: the listener subscribed after they were sent, so the broker kept them (a subscriber
    that is there already gets them with the retain flag clear, as MQTT 3.1.1 says)."""
    for key in KEYS:
        t = "homeassistant/sensor/%s/%s/config" % (node, key)
        wait_for(lambda t=t: listener.on(t), t)
        payload, flag = listener.on(t)[-1]
        assert flag == retained, t
        p = json.loads(payload)
        assert p["state_topic"] == topic + "/state" and p["availability_topic"] == topic + "/status"
        assert p["value_template"] == "{{ value_json.%s }}" % key
        assert p["unique_id"] == "%s_%s" % (node, key)
        assert p["device"]["identifiers"] == [node]
        assert {"name", "model", "manufacturer", "sw_version"} <= set(p["device"])
        want = CLASSES[key]
        assert (p["device_class"], p["state_class"], p["unit_of_measurement"]) == want, (key, p)


class Counts:
    """meter.raw(t, reverse) remembered: the model walks forward from a cache, so the times are
    evaluated in order once (a window of +-130 s per message would otherwise rescan the day)."""

    def __init__(self, meter, times):
        self.meter = meter
        self.memo = {}
        for x in sorted(times):
            self.raw(x)
        if meter.reverse:
            for x in sorted(times):
                self.raw(x, True)

    def raw(self, x, reverse=False):
        k = (x, reverse)
        if k not in self.memo:
            self.memo[k] = self.meter.raw(x, reverse)
        return self.memo[k]


def _window(t, window):
    return [t + k for k in range(-window, window + 1)]


def check_state(state, meter, t, period_start, tol=1e-6, window=2, counts=None):
    """One state message against the simulated meter at the reading's time t (Unix s), +-window s."""
    ts = _window(t, window)
    counts = counts or Counts(meter, ts)
    assert state["power_w"] in {meter.power_w(x) for x in ts}, (state, t)
    assert isinstance(state["power_w"], int)
    currents = [meter.current_da(x) for x in ts]
    assert any(abs(state["current_r_a"] - r / 10) < 1e-3 for r, _ in currents), state
    assert any(abs(state["current_t_a"] - tt / 10) < 1e-3 for _, tt in currents), state
    if state["import_kwh"] is None:  # the first reading, before the meter's unit (E1, D3) is known
        assert state["export_kwh"] is None
        return False
    imports = [round(meter.kwh_of(counts.raw(x)), 3) for x in ts]
    assert any(abs(state["import_kwh"] - k) <= tol * max(1, k) for k in imports), (state, imports)
    if not meter.reverse:  # no E3 on a meter without generation
        assert state["export_kwh"] is None, state
    exports = [round(meter.kwh_of(counts.raw(x, True)), 3) for x in ts] if meter.reverse else []
    assert not meter.reverse or any(abs(state["export_kwh"] - k) <= tol * max(1, k) for k in exports), (
        state,
        exports,
    )
    if state["period_kwh"] is not None:
        wrap = 10**meter.digits
        base = meter.raw(period_start)
        periods = [((counts.raw(x) - base) % wrap) * meter.kwh_of(1) for x in ts]
        assert any(abs(state["period_kwh"] - k) < 1e-3 for k in periods), (state, periods)
        assert state["charge_yen"] == tepco_b_40_yen(state["period_kwh"])
    return True


def states_checked(listener, topic, sent, meter, period_start, tol=1e-6, window=2):
    """The state messages the broker delivered, each matched to what the app published, checked."""
    by_payload = dict(sent)
    got = [p for p, _ in listener.on(topic + "/state")]
    assert got, "no state message arrived"
    full = 0
    counts = Counts(meter, [x for p in got if p in by_payload for x in _window(by_payload[p], window)])
    for p in got:
        assert p in by_payload, p  # delivered as published
        full += check_state(json.loads(p), meter, by_payload[p], period_start, tol, window, counts)
    assert full >= len(got) - 1, "import_kwh stays null after the first reading"
    return [json.loads(p) for p in got]


# --- host mode: paho -------------------------------------------------------------------------
def test_discovery_and_state_match_the_simulated_meter(broker, tmp_path):
    lis = Listener(broker.port)
    try:
        world = harness.World(start=unix(2026, 6, 10, 11, 0), seed=3, meter_kw={"solar": 4000})
        a = make_app(world, tmp_path, make_cfg(mqtt_doc(broker.port)))
        run_app(a, world, 300)
        topic = "smartmeter/sim-meter"
        check_discovery(lis, "sim-meter", topic)
        wait_for(lambda: len(lis.on(topic + "/state")) >= len(Recorder.sent) > 15, "the state messages")
        states = states_checked(lis, topic, Recorder.sent, world.meter, unix(2026, 5, 22))
        assert states[-1]["period_kwh"] is not None and states[-1]["charge_yen"] > 0
        assert any(s["power_w"] < 0 for s in states) or any(s["export_kwh"] > 321 for s in states)
        assert lis.on(topic + "/status")[0][0] == b"online"
        assert a.mqtt.connected and a.mqtt.failed == 0
        # a late subscriber (Home Assistant restarting) gets the retained state and configs at once
        late = Listener(broker.port)
        try:
            wait_for(lambda: late.on(topic + "/state") and late.on(topic + "/status"), "retained messages")
            assert late.on(topic + "/state") == [(lis.on(topic + "/state")[-1][0], True)]
            assert late.on(topic + "/status") == [(b"online", True)]
            check_discovery(late, "sim-meter", topic, retained=True)
        finally:
            late.close()
        a.close(3000, world.clock.advance)
        wait_for(lambda: lis.on(topic + "/status")[-1][0] == b"offline", "offline after close")
    finally:
        lis.close()


def test_broker_restart_app_reconnects_and_ambient_and_screen_go_on(broker, tmp_path):
    import canvas
    import run as host_run
    from fake_ambient import FakeAmbient

    amb = FakeAmbient(write_keys={"7": "0123456789abcdef"})
    amb.start()
    lis = Listener(broker.port)
    try:
        world = harness.World(start=unix(2026, 12, 3, 10, 0), seed=5)
        amb.clock = world.clock.wall
        cfg = make_cfg(
            mqtt_doc(broker.port, client_id="restart-meter"),
            ambient={"channel_id": "7", "write_key": "0123456789abcdef", "url": amb.url, "interval": 30},
        )
        a = make_app(
            world,
            tmp_path,
            cfg,
            http_post=lambda url, body, timeout_s: host_run.http_post(url, body, 2),
            fb=canvas.Canvas(160, 80),
        )
        topic = "smartmeter/restart-meter"
        run_app(a, world, 120)
        wait_for(lambda: lis.on(topic + "/state"), "a state before the restart")
        lis.close()
        sent_before = a.mqtt.sent
        broker.stop()
        records, draws = len(amb.records), a.draws
        run_app(a, world, 240)  # the broker is away for four minutes
        assert not a.mqtt.connected and a.mqtt.failed >= 3
        assert "MQTT" in a.mqtt.last_error
        assert len(amb.records) - records >= 7, "Ambient went on during the outage"
        assert a.draws - draws >= 20, "the screen went on during the outage"
        broker.start()
        lis = Listener(broker.port)  # the restarted broker kept nothing (no persistence)
        n = len(Recorder.sent)
        run_app(a, world, 400)  # longer than the back-off reached
        assert a.mqtt.connected and a.mqtt.sent > sent_before
        check_discovery(lis, "restart-meter", topic)  # sent again on the new connection
        wait_for(
            lambda: len(lis.on(topic + "/state")) >= len(Recorder.sent) - n > 5, "states after the restart"
        )
        states_checked(lis, topic, Recorder.sent, world.meter, unix(2026, 11, 22))
        assert lis.on(topic + "/status")[0][0] == b"online"
        assert a.amb.failed == 0 and len(a.amb.backlog) == 0
    finally:
        lis.close()
        amb.stop()


def test_wrong_password_is_a_clear_error_without_the_secret(broker, tmp_path):
    wrong = "Wr0ng-secret-77"
    lines = []
    log.set_sink(lines.append)
    try:
        world = harness.World(start=unix(2026, 12, 3, 10, 0), seed=2)
        a = make_app(world, tmp_path, make_cfg(mqtt_doc(broker.port, wrong, "bad-meter")), mqtt_paho.Client)
        run_app(a, world, 120)
    finally:
        log.set_sink(print)
    assert a.session.reading is not None, "the meter is read all the same"
    assert not a.mqtt.connected and a.mqtt.failed >= 2 and a.mqtt.sent == 0
    where = "127.0.0.1:%d" % broker.port
    errs = [x for x in lines if "not authorised" in x]
    assert errs and all(where in x for x in errs), lines
    assert not any(wrong in x or PASSWORD in x for x in lines)
    assert wrong not in a.mqtt.last_error and "not authorised" in a.mqtt.last_error
    # the adapter's own message, before any log scrubbing
    c = mqtt_paho.Client("127.0.0.1", broker.port, "bad-meter-2", USER, wrong, "x/status", 30)
    with pytest.raises(OSError) as e:
        c.connect()
    assert "not authorised" in str(e.value) and where in str(e.value) and wrong not in str(e.value)
    assert "disconnected, not authorised" in broker.log()  # the broker refused the attempts


def test_a_broker_that_never_answers_costs_a_bounded_wait():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)  # accepts TCP, never says a word
    port = srv.getsockname()[1]
    out = []

    def attempt():
        c = mqtt_paho.Client("127.0.0.1", port, "stalled", None, None, "s/status", 30, timeout_s=1)
        try:
            c.connect()
            out.append("connected")
        except OSError as e:
            out.append(str(e))

    th = threading.Thread(target=attempt, daemon=True)
    th.start()
    th.join(WAIT_S)
    srv.close()
    assert not th.is_alive(), "connect() did not give up"
    assert out and "no answer" in out[0], out


# --- the device path: umqtt.simple on the esp32-like MicroPython -----------------------------
DEVICE_SCRIPT = """
import sys, json
import demo, harness, mqtt, mqtt_umqtt
from app import config

doc = json.loads(%(doc)r)
world = harness.World(start=%(start)d, seed=4)
cfg = config.load(json.dumps(doc))
SENT = []

class Recorder(mqtt_umqtt.Client):
    def publish(self, topic, msg, retain):
        super().publish(topic, msg, retain)
        if topic.endswith("/state"):
            clk = world.clock
            r = app.session.reading
            SENT.append((msg.decode(), clk.wall() * 1000 - (clk.now_ms - r.t)))  # ms: ints, not float32

class Net:  # firmware/wifi.py's name cache, as firmware/device.py hands it to the client
    def ip(self, host):
        return "127.0.0.1" if host == "broker.invalid" else None

    def forget(self, host):
        pass

net = Net()
pub = mqtt.Publisher(cfg["mqtt"], lambda *args: Recorder(*args, net=net), world.clock.ticks_ms())
app = demo.app(cfg, world, %(folder)r, mqtt=pub)
demo.run_app(app, world.clock, %(ms)d, world.module)
print("RESULT " + json.dumps({"sent": SENT, "failed": pub.failed, "connected": pub.connected,
                              "impl": sys.implementation.name}))
# no close(): the process ends with the connection open, so the broker sends the last will
"""


def run_device(tmp_path, doc, start, seconds):
    if not os.path.exists(MP):
        pytest.fail(
            "the esp32-like MicroPython is missing at %s (set MICROPYTHON_ESP32LIKE to its path)" % MP
        )
    script = tmp_path / "device_mqtt.py"
    script.write_text(
        DEVICE_SCRIPT
        % {
            "doc": json.dumps(doc),
            "start": start,
            "ms": seconds * 1000,
            "folder": str(tmp_path),
        }
    )
    path = ":".join([".frozen"] + [os.path.join(ROOT, d) for d in ("lib", "firmware", "sim")])
    r = subprocess.run(
        [MP, "-X", "heapsize=1048576", str(script)],
        env=dict(os.environ, MICROPYPATH=path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
    assert r.returncode == 0 and out, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(out[0][7:]), r.stdout


def test_device_umqtt_publishes_to_mosquitto_and_leaves_its_last_will(broker, tmp_path):
    lis = Listener(broker.port)
    try:
        start = unix(2026, 12, 3, 19, 0)
        doc = int_doc(mqtt_doc(broker.port, client_id="dev-meter"))
        doc["mqtt"]["host"] = "broker.invalid"  # only the stand-in name cache knows it
        res, out = run_device(tmp_path, doc, start, 240)
        assert res["impl"] == "micropython" and res["connected"] and res["failed"] == 0, (res, out[-1500:])
        assert len(res["sent"]) > 10, res
        topic = "smartmeter/dev-meter"
        check_discovery(lis, "dev-meter", topic)
        wait_for(lambda: len(lis.on(topic + "/state")) >= len(res["sent"]), "the device's states")
        world = harness.World(start=start, seed=4)  # the same meter, on CPython
        sent = [(p.encode(), ms / 1000) for p, ms in res["sent"]]
        # single-precision floats: kWh agree to ~7 significant digits, and the simulator's own
        # meter time (a float of Unix seconds) has a resolution of 128 s inside this VM
        states_checked(lis, topic, sent, world.meter, unix(2026, 11, 22), tol=2e-6, window=130)
        # the process ended without a DISCONNECT: the broker published the last will, retained
        wait_for(lambda: lis.on(topic + "/status")[-1][0] == b"offline", "the last will")
        assert lis.on(topic + "/status")[0][0] == b"online"
        assert "dev-meter" in broker.log()
    finally:
        lis.close()
    late = Listener(broker.port)
    try:
        wait_for(lambda: late.on(topic + "/status"), "the retained status")
        assert late.on(topic + "/status")[-1] == (b"offline", True)
    finally:
        late.close()
    assert PASSWORD not in out


def test_device_umqtt_wrong_password_is_a_clear_error(broker, tmp_path):
    wrong = "Dev-wr0ng-pass"
    doc = int_doc(mqtt_doc(broker.port, wrong, "dev-bad"))
    doc["mqtt"]["host"] = "broker.invalid"
    res, out = run_device(tmp_path, doc, unix(2026, 12, 3, 19, 0), 60)
    assert not res["connected"] and res["failed"] >= 2 and res["sent"] == []
    errs = [x for x in out.splitlines() if "not authorised" in x]
    assert errs and all("broker.invalid:%d" % broker.port in x for x in errs), out[-2000:]
    assert "disconnected, not authorised" in broker.log()
    assert wrong not in out and PASSWORD not in out


# --- host/run.py --mqtt --------------------------------------------------------------------------
def run_sim(tmp_path, mqtt_section, *extra):
    cfg = tmp_path / "SmartMeter.json"
    doc = int_doc(mqtt_section)
    cfg.write_text(json.dumps(doc))
    args = ["--sim", "--speed", "0", "--duration", "150", "--no-screen", "--no-ambient"]
    args += ["--png", str(tmp_path / "s.png"), "--state-dir", str(tmp_path), "--config", str(cfg)]
    r = subprocess.run(
        [os.path.join(ROOT, ".venv", "bin", "python"), os.path.join(ROOT, "host", "run.py"), *args, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r.stdout


def test_sim_publishes_with_the_mqtt_option_and_never_to_a_remote_broker_without_it(broker, tmp_path):
    section = {"host": "ha.example.invalid", "user": USER, "password": PASSWORD, "client_id": "run-sim"}
    lis = Listener(broker.port)
    try:
        out = run_sim(tmp_path, section)  # the configured broker is not on this machine
        assert "nothing is published" in out, out[-2000:]
        assert not any(t.startswith("smartmeter/run-sim") for t, _, _ in list(lis.msgs))
        out = run_sim(tmp_path, section, "--mqtt", "127.0.0.1:%d" % broker.port)
        assert "MQTT states sent" in out and PASSWORD not in out, out[-2000:]
        check_discovery(lis, "run-sim", "smartmeter/run-sim")
        wait_for(lambda: len(lis.on("smartmeter/run-sim/state")) >= 5, "the simulator's states")
        wait_for(lambda: lis.on("smartmeter/run-sim/status")[-1][0] == b"offline", "offline at the end")
    finally:
        lis.close()


# --- firmware/device.py builds the umqtt client (the device harness of test_app_device.py) --------
def fake_umqtt(dev, seen):
    """A stand-in umqtt.simple recording what the adapter asks of it (as network events of the device)."""
    import types

    simple = types.ModuleType("umqtt.simple")

    class MQTTException(Exception):
        pass

    class Sock:
        def settimeout(self, t):
            seen["timeouts"].add(t)

        def read(self, n):
            return None  # nothing from the broker

        def close(self):
            pass

    class MQTTClient:
        def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=0, *a):
            seen["init"] = (client_id, server, port, user, password, keepalive)
            self.server = server
            self.sock = None

        def set_last_will(self, topic, msg, retain=False, qos=0):
            seen["will"] = (topic, msg, retain)

        def connect(self, clean_session=True, timeout=None):
            dev.events.append((dev.clock.now_ms, "mqtt", "connect"))
            seen["connects"].append((self.server, timeout))
            dev.block(20)
            self.sock = Sock()

        def publish(self, topic, msg, retain=False, qos=0):
            dev.events.append((dev.clock.now_ms, "mqtt", topic))
            seen["pubs"].append((topic, bytes(msg), retain))

    simple.MQTTClient = MQTTClient
    simple.MQTTException = MQTTException
    pkg = types.ModuleType("umqtt")
    pkg.simple = simple
    return pkg, simple


def test_device_py_publishes_through_umqtt_with_the_broker_resolved_between_steps(tmp_path, monkeypatch):
    import importlib

    import test_app_device as tad

    monkeypatch.setitem(tad.IPS, "broker.lan", "192.0.2.50")
    seen = {"connects": [], "pubs": [], "timeouts": set()}
    doc = tad.config_doc(mqtt={"host": "broker.lan", "user": USER, "password": PASSWORD, "client_id": "dev1"})
    (tmp_path / "SmartMeter.json").write_text(json.dumps(doc))
    dev = tad.Device(str(tmp_path), 400, ())
    pkg, simple = fake_umqtt(dev, seen)
    monkeypatch.setitem(sys.modules, "umqtt", pkg)
    monkeypatch.setitem(sys.modules, "umqtt.simple", simple)
    monkeypatch.delitem(sys.modules, "mqtt_umqtt", raising=False)
    tad.install(dev, monkeypatch)
    log.set_sink(dev.lines.append)
    try:
        device = importlib.import_module("device")
        with pytest.raises(KeyboardInterrupt):
            device.run(root=str(tmp_path))
    finally:
        log.set_sink(print)
        tad.uninstall()
        sys.modules.pop("mqtt_umqtt", None)
    text = "\n".join(dev.lines)
    assert PASSWORD not in text and RBID not in text
    assert seen["init"] == ("dev1", "broker.lan", 1883, USER, PASSWORD, 30)
    assert seen["will"] == ("smartmeter/dev1/status", b"offline", True)
    assert seen["connects"] and seen["connects"][0] == ("192.0.2.50", 5), "the cached address, not the name"
    assert seen["timeouts"] == {0, 5}  # publishes on the socket with the 5 s timeout (0: the drain)
    assert "broker.lan" in [d for _, kind, d in dev.events if kind == "dns"]
    topics = [t for t, _, _ in seen["pubs"]]
    assert topics[0] == "smartmeter/dev1/status"
    # the device app (history cache on) also has today's kWh and the forecast kWh and yen
    assert sum(t.endswith("/config") for t in topics) == len(KEYS) + 3
    states = [json.loads(p) for t, p, r in seen["pubs"] if t == "smartmeter/dev1/state" and r]
    assert {"today_kwh", "forecast_kwh", "forecast_yen"} <= set(states[-1])
    assert len(states) >= 10 and all(s["power_w"] > 0 for s in states), states[:3]
    assert len(dev.posts) >= 8, "Ambient goes on beside MQTT"
    # never two network calls between two watchdog feeds: MQTT takes its turn with DNS, NTP and Ambient
    periods, started = [[]], False
    for t, kind, _ in dev.events:
        if kind == "wdt":
            started = True
        elif kind == "feed":
            periods.append([])
        elif started and kind in ("dns", "ntp", "post", "mqtt"):
            periods[-1].append((t, kind))
    assert all(len(p) <= 1 for p in periods), [p for p in periods if len(p) > 1][:3]
