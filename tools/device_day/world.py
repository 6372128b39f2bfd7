"""Outside the VM: the BP35A1 + meter simulator on the shared virtual clock, the faults, the
UART's receive buffer, and the Ambient stand-in (an HTTP server on 127.0.0.1).

Faults for 24 h (schedule() scales them to a shorter run): meter answers
dropped (1 in 3) 1-2 h; EVENT 29 (PANA lifetime over, the module
re-authenticates) at 3 h; the meter ends the session and the next join fails
(EVENT 24) at 4 h; garbage bytes and split lines on the UART 5-7 h; Wi-Fi down
8-9 h; Ambient answering 500, every third post a time-out, 11:30-12:30; a hard
reset at 12 h (the VM process is killed and a new one boots on the same
flash, the backlog file included; the Wi-SUN module keeps its state, as a
reset of the ESP32 leaves the HAT powered).

The config has every feature on: a time-of-use tariff (bands, days off with the
public holidays, dated fuel-cost figures and the levy), collect_date as a
per-month schedule, and MQTT to a real mosquitto (Broker) on 127.0.0.1, whose
messages a paho subscriber (Listener) counts.
"""

import http.server
import json
import threading
import time
from typing import Any

import mosquitto  # host/mosquitto.py

H = 3600 * 1000
START = 1764723600  # 2025-12-03 10:00 JST
WKEY = "5a0c0123456789ab"
WIFI_PW = "wifi-Secret-42"
NEVER = 0x3FFFFFFF  # "no event": the VM's clock stays below it (12 days)
STALL_S = 1.0  # a time-out: the stand-in holds the request this long (the VM gives up after 0.3 s)
MQTT_USER = "meter"
MQTT_PW = "mqtt-Secret-77"
MQTT_TOPIC = "smartmeter/device-day"
WAIT_S = 10  # bounded real-time waits for the listener
# A made-up test tariff (the shapes of docs/tariffs.md): three bands, days off with the public
# holidays and one fixed day, fuel-cost figures for every bill month the day (from START,
# 2025-12-03) can fall in, the levy from 2025-05.
TARIFF = {
    "name": "device day TOU",
    "basic": {"40": 1247.00},
    "bands": [
        {"name": "night", "time": "01:00-06:00", "yen": 27.86},
        {"name": "off", "days": "off", "yen": 30.12},
        {"name": "day", "yen": 35.76},
    ],
    "days_off": ["sat", "sun", "holidays", "12-31"],
    "adjustments": {
        "fuel": {"2025-11": -1.52, "2025-12": -1.23, "2026-01": -1.05},
        "levy": {"2025-05": 3.98},
    },
}
# the reading day per month (2025-12-03..04 lies inside the period from 2025-11-21: no boundary)
COLLECT = {"2025-11": 21, "2025-12": 22, "2026-01": 21, "default": 22}


def schedule(hours):
    """[(at ms, end ms or None, kind, what)] for a run of `hours`."""
    k = hours / 24.0

    def t(h):
        return int(h * H * k)

    return [
        (t(1), t(2), "drops", "meter answers dropped (1 in 3)"),
        (t(3), None, "event29", "EVENT 29: PANA lifetime over, the module re-authenticates"),
        (t(4), None, "event24", "the meter ends the session; the next join fails (EVENT 24)"),
        (t(5), t(7), "garbage", "garbage bytes and split lines on the UART"),
        (t(8), t(9), "wifi", "Wi-Fi down"),
        (t(11.5), t(12.5), "ambient", "Ambient: HTTP 500, every third post a time-out"),
        (t(12), None, "reboot", "hard reset: the VM killed, a new one boots on the same flash"),
    ]


def config(harness, ambient_url, mqtt_port=None):
    """The device's SmartMeter.json: the simulator's credentials, the Ambient stand-in, the test
    tariff and reading-day schedule, and (mqtt_port) the local broker."""
    doc = {
        "id": harness.bp35a1.DEFAULT_ID,
        "password": harness.bp35a1.DEFAULT_PASSWORD,
        "contract_amperage": "40",
        "collect_date": COLLECT,
        "tariff": TARIFF,
        "board": "m5stickc",
        "ambient": {"channel_id": "4242", "write_key": WKEY, "url": ambient_url, "interval": 30},
        "wifi": {"ssid": "home", "password": WIFI_PW},
        "display": {"night": {"start": "23:00", "end": "06:00", "brightness": 20}},
    }
    if mqtt_port:
        doc["mqtt"] = {
            "host": "127.0.0.1",  # vm/hw_network: a dotted address resolves to itself
            "port": mqtt_port,
            "user": MQTT_USER,
            "password": MQTT_PW,
            "client_id": "device-day",
            "topic": MQTT_TOPIC,
        }
    return doc


def features(doc):
    """What the config enables, in a few words (for the report)."""
    t = doc.get("tariff")
    out = []
    if isinstance(t, dict):
        out.append("tariff with %d bands" % len(t.get("bands") or ()))
        adj = t.get("adjustments") or {}
        if adj:
            out.append("fuel %d months + levy" % len(adj.get("fuel") or ()))
    elif doc.get("charge_func"):
        out.append("charge_func " + doc["charge_func"])
    cd = doc.get("collect_date")
    if isinstance(cd, dict):
        out.append("collect_date schedule (%d months + default)" % (len(cd) - 1))
    else:
        out.append("collect_date %s" % cd)
    out.append("MQTT" if doc.get("mqtt") else "no MQTT")
    return ", ".join(out)


def secrets(harness):
    return (WKEY, WIFI_PW, MQTT_PW, harness.bp35a1.DEFAULT_PASSWORD, harness.bp35a1.DEFAULT_ID)


def broker(folder):
    """The local mosquitto (host/mosquitto.py) with the config's MQTT user."""
    return mosquitto.Broker(folder, MQTT_USER, MQTT_PW)


class Listener:
    """A paho subscriber on '#' (as MQTT_USER): counts the state messages (MQTT_TOPIC/state, each
    one JSON with power_w), the discovery configs (homeassistant/.../config) and the status
    messages; keeps the last state and any payload that was not JSON."""

    def __init__(self, port):
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.lock = threading.Lock()
        self.states = 0
        self.configs = set()  # topics: one per sensor, sent again on each connect
        self.config_msgs = 0
        self.status = {}  # payload -> count
        self.bad = []
        self.last_state = None
        self.ready = threading.Event()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id="device-day-listener")
        c.username_pw_set(MQTT_USER, MQTT_PW)

        def on_connect(c, u, f, rc, p):
            if not rc.is_failure:
                c.subscribe("#")

        c.on_connect = on_connect
        c.on_subscribe = lambda c, u, mid, rc, p: self.ready.set()
        c.on_message = lambda c, u, m: self._got(m.topic, bytes(m.payload))
        c.connect("127.0.0.1", port, 60)
        c.loop_start()
        self.client = c
        if not self.ready.wait(WAIT_S):
            self.close()
            raise RuntimeError("the MQTT listener did not subscribe")

    def _got(self, topic, payload):
        with self.lock:
            if topic == MQTT_TOPIC + "/state":
                try:
                    doc = json.loads(payload)
                    if not isinstance(doc, dict) or "power_w" not in doc:
                        raise ValueError
                except ValueError:
                    self.bad.append(payload[:80])
                    return
                self.states += 1
                self.last_state = doc
            elif topic == MQTT_TOPIC + "/status":
                k = payload.decode("utf-8", "replace")
                self.status[k] = self.status.get(k, 0) + 1
            elif topic.startswith("homeassistant/") and topic.endswith("/config"):
                self.config_msgs += 1
                self.configs.add(topic)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class World:
    """The simulator on the virtual clock, the faults due, and the UART's receive buffer.

    advance(t) runs the simulator to t ms (faults applied at their times) and moves
    what the module printed into the receive buffer (bytes beyond rxbuf are lost, as
    on the ESP32). A meter reading (an answer carrying E7) is marked where its line
    ends, so read() can tell the VM that the bytes it takes complete a reading.
    """

    def __init__(self, hours, seed, faults=True):
        import harness

        self.harness = harness
        self.w = harness.World(start=START, seed=seed)
        self.clk = self.w.clock
        self.mod = self.w.module
        self.faults = schedule(hours) if faults else []
        self.events = sorted((at, kind) for at, _, kind, _ in self.faults)
        self.windows = {kind: (at, end) for at, end, kind, _ in self.faults if end is not None}
        self.edges = sorted({x for w in self.windows.values() for x in w})
        self.applied = []
        self.rxbuf = 2048
        self.held = bytearray()  # the UART's receive buffer
        self.appended = 0  # bytes ever put into it
        self.delivered = 0  # bytes ever read from it by the VM
        self.lost_bytes = 0  # beyond the buffer (or in it at a reset)
        self.marks = []  # receive-buffer positions where a reading ends
        self.mod_pos = 0  # bytes ever taken from the module
        self.queued = 0  # bytes ever queued by the module
        self.answer_ends = []  # module positions where a reading ends
        self.readings = 0
        self.readings_lost = 0
        mod = self.mod
        queue = mod._queue
        answer = mod._answer

        def tap_queue(start, data):
            self.queued += len(data)
            return queue(start, data)

        def tap_answer(arg):
            before = self.queued
            answer(arg)
            if self.queued != before and has_e7(arg[1]):
                self.answer_ends.append(self.queued)
                self.readings += 1

        mod._queue = tap_queue  # the module calls self._queue / self._answer: these win
        mod._answer = tap_answer

    def wifi_up(self, t):
        w = self.windows.get("wifi")
        return not (w and w[0] <= t < w[1])

    def ambient_failing(self, t):
        w = self.windows.get("ambient")
        return bool(w and w[0] <= t < w[1])

    def advance(self, t):
        """Run the simulator to t ms; "reboot" (at the reboot's time) when one is due first."""
        while self.events and self.events[0][0] <= t:
            at, kind = self.events.pop(0)
            self._to(at)
            self.applied.append((at, kind))
            if kind == "reboot":
                return "reboot"
            self._apply(kind)
        self._to(t)
        return None

    def _to(self, t):
        self.clk.advance_to(t)
        self.mod.update()
        n = self.mod.available()
        if not n:
            return
        buf = bytearray(n)
        self.mod.read_into(buf, n)
        keep = min(max(0, self.rxbuf - len(self.held)), n)
        while self.answer_ends and self.answer_ends[0] <= self.mod_pos + n:
            end = self.answer_ends.pop(0)
            if end <= self.mod_pos + keep:
                self.marks.append(self.appended + end - self.mod_pos)
            else:
                self.readings_lost += 1
        self.held += buf[:keep]
        self.appended += keep
        self.lost_bytes += n - keep
        self.mod_pos += n

    def _apply(self, kind):
        f = self.mod.faults
        w: Any = self.windows.get(kind)
        if kind == "drops":
            f.drop_every = 3
            f.drop_window = w
        elif kind == "event29":
            self.mod.expire_session()
        elif kind == "event24":
            f.join_failures = 1
            self.mod.peer_terminate()
        elif kind == "garbage":
            f.garbage_prob = 0.05
            f.split_prob = 0.2
            f.io_window = w

    def next_change(self, t):
        """The virtual ms after t when what the VM sees may change: the module's next event, the
        next fault, a Wi-Fi or Ambient edge. Until then the VM answers UART.any() itself."""
        best = self.mod.next_event_ms()
        for x in [x for x in self.edges if x > t][:1] + [e[0] for e in self.events[:1]]:
            if best is None or x < best:
                best = x
        if best is None or best > NEVER:
            return NEVER
        return max(best, t + 1)

    def read(self, n):
        """(n bytes from the receive buffer, True when they complete a reading)."""
        out = bytes(self.held[:n])
        del self.held[:n]
        self.delivered += len(out)
        reading = False
        while self.marks and self.marks[0] <= self.delivered:
            self.marks.pop(0)
            reading = True
        return out, reading

    def reset_uart(self):
        """A reset: the receive buffer and what is in it are gone (the module keeps its state)."""
        self.lost_bytes += len(self.held)
        self.readings_lost += len(self.marks)
        self.held = bytearray()
        self.marks = []
        self.delivered = self.appended


def has_e7(frame):
    """True for a Get_Res (0x72), or a Get_SNA (0x52: another property refused), that carries
    E7 (instantaneous power) with data: a reading."""
    if len(frame) < 12 or frame[10] not in (0x72, 0x52):
        return False
    i = 12
    for _ in range(frame[11]):
        if i + 1 >= len(frame):
            return False
        if frame[i] == 0xE7:
            return frame[i + 1] > 0
        i += 2 + frame[i + 1]
    return False


class Ambient:
    """The Ambient stand-in on 127.0.0.1 (the VM reaches it as ambient.test, vm/hw_network.NAMES).

    Answers 200 (records kept by created time, each checked against the simulated
    meter), or inside the fault window 500 and, every third post, nothing (a
    time-out), at the VM's virtual time (vm_now: set by the exchange a connect makes).
    lose=N: the Nth record accepted is thrown away (a test that the loss count works).
    """

    def __init__(self, world, lose=0):
        self.world = world
        self.lose = lose
        self.lock = threading.Lock()
        self.vm_now = 0
        self.received = {}  # created ms -> record
        self.accepted = 0
        self.twice = 0
        self.posts = 0
        self.answers = {200: 0, 500: 0, 400: 0, "timeout": 0}
        self.failing = 0
        self.bad_key = 0
        self.mismatches = []
        self.pending = []  # answers since the VM's last cycle: "200", "500", "timeout"
        amb = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = amb.post(self.path, body)
                if status is None:
                    time.sleep(STALL_S)  # no answer: the VM's socket times out
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://ambient.test:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def post(self, path, body):
        with self.lock:
            self.posts += 1
            if self.world.ambient_failing(self.vm_now):
                self.failing += 1
                if self.failing % 3 == 0:
                    self.answers["timeout"] += 1
                    self.pending.append("timeout")
                    return None
                self.answers[500] += 1
                self.pending.append("500")
                return 500
            try:
                doc = json.loads(body)
            except ValueError:
                self.answers[400] += 1
                return 400
            if doc.get("writeKey") != WKEY:
                self.bad_key += 1
                self.answers[400] += 1
                return 400
            recs = doc["data"] if path.endswith("/dataarray") else [doc]
            for rec in recs:
                self.accepted += 1
                if self.accepted == self.lose:
                    continue
                c = rec.get("created")
                if c in self.received:
                    self.twice += 1
                self.received[c] = rec
                self._check(rec)
            self.answers[200] += 1
            self.pending.append("200x%d" % len(recs) if len(recs) > 1 else "200")
            return 200

    def _check(self, rec):
        meter = self.world.w.meter
        c = rec.get("created")
        d2 = rec.get("d2")
        if c is None or d2 is None:
            self.mismatches.append("a record without created or d2: %r" % rec)
            return
        for k in (-2, -1, 0, 1, 2):  # created is the reading's time to the second
            if abs(d2 - meter.power_w(c / 1000 + k) / 1000) < 0.0006:
                return
        self.mismatches.append("d2 %s kW at %d, the meter %s W" % (d2, c, meter.power_w(c / 1000)))

    def take_pending(self):
        with self.lock:
            p = self.pending
            self.pending = []
        return p

    def close(self):
        self.server.shutdown()
        self.server.server_close()
