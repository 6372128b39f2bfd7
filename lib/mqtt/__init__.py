"""MQTT: the readings as one retained JSON message per interval, Home Assistant discovery.

Publisher(cfg, client_class, now) is polled by the app loop each step;
each poll does at most one network operation (connect, or one publish),
each bounded by the client's socket timeout:
  connect -> "online" on <topic>/status -> discovery configs (one per step,
  lib/mqtt/discovery.py, loaded for the call) -> every interval the state on
  <topic>/state (retained), or "online" again as a keep-alive when there is
  no new reading. A failure closes the client and retries after 5 s,
  doubling to 5 min. "offline" on <topic>/status is the client's last will.

client_class(host, port, client_id, user, password, topic, keepalive) builds
the client (firmware/mqtt_umqtt.py on the device, host/mqtt_paho.py on a PC)
with its last will on topic (the status topic) and keepalive (s):
connect() (OSError on failure), publish(topic, msg bytes, retain), close().
figures() (handed to poll) -> dict of the app's figures for the state:
period_kwh (kWh), charge_yen (yen), and forecast keys when the app has them;
called only when a state or a discovery config is due.
"""

import json

import log
from ticks import ticks_add, ticks_diff

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_RETRY_MS = const(5000)  # first retry; doubles up to _RETRY_MAX_MS
_RETRY_MAX_MS = const(300000)


def _kwh(v):
    return None if v is None else round(v, 3)


def state(reading, figures):
    """The state message (JSON bytes) of a session Reading and the app's figures (a dict).

    power_w (W, signed), current_r_a / current_t_a (A), import_kwh (E0) and export_kwh (E3)
    in kWh; then the figures; an unknown value is null (Home Assistant shows it as unknown).
    """
    r = reading.current_r_da
    t = reading.current_t_da
    d = {
        "power_w": reading.power_w,
        "current_r_a": None if r is None else r / 10,
        "current_t_a": None if t is None else t / 10,
        "import_kwh": _kwh(reading.cumulative_kwh),
        "export_kwh": _kwh(reading.reverse_kwh),
    }
    for k in figures:
        v = figures[k]
        d[k] = _kwh(v) if type(v) is float else v
    return json.dumps(d).encode()


class Publisher:
    """Publishes to one broker through a client (see the module docstring).

    cfg: the config's mqtt section (topic, discovery_prefix, client_id, interval s); model: the
    device model Home Assistant shows. Counters: sent (state messages), failed (failed
    operations); last_error; connected; due (ticks of the next operation).
    """

    def __init__(self, cfg, client_class, now, model="M5StickC + BP35A1"):
        self.cfg = cfg
        self.model = model
        topic = cfg["topic"]
        self.topics = (topic + "/state", topic + "/status")
        self.interval_ms = cfg["interval"] * 1000
        self.client = client_class(
            cfg["host"],
            cfg["port"],
            cfg["client_id"],
            cfg["user"],
            cfg["password"],
            self.topics[1],
            max(30, 3 * cfg["interval"]),  # keep-alive s: something is published every interval
        )
        self.due = now
        self.connected = False
        self._step = 0  # after a connect: 1 = online, 2.. = discovery config i - 2, 0 = steady
        self.backoff_ms = 0
        self._recorded_t = None  # t of the reading last published
        self.sent = 0
        self.failed = 0
        self.last_error = None

    def poll(self, now, online, reading, figures):
        """One operation when one is due (online: the network is up).

        reading: the session's latest (None before the first); figures: see the module docstring.
        """
        if ticks_diff(now, self.due) < 0:
            return
        if not online:
            self.due = ticks_add(now, 1000)
            return
        c = self.client
        try:
            if not self.connected:
                c.connect()
                self.connected = True
                self._step = 1
                self._recorded_t = None
                log.info("mqtt: connected to %s", self.cfg["host"])
                return
            step = self._step
            if step == 1:
                c.publish(self.topics[1], b"online", True)
                self.backoff_ms = 0
                self._step = 2 if self.cfg["discovery_prefix"] else 0
                return
            if step:
                import lazy

                msg = lazy.call("mqtt.discovery", "config", step - 2, self, figures())
                if msg is not None:
                    c.publish(msg[0], msg[1], True)
                    self._step = step + 1
                    return
                self._step = 0
            self.due = ticks_add(now, self.interval_ms)
            if reading is not None and reading.t != self._recorded_t and reading.power_w is not None:
                c.publish(self.topics[0], state(reading, figures()), True)
                self._recorded_t = reading.t
                self.sent += 1
            else:
                c.publish(self.topics[1], b"online", True)  # keep-alive: the broker hears from us
        except Exception as e:  # OSError from the network, or a bug: never stops the loop
            self._fail(now, e)

    def _fail(self, now, e):
        self.failed += 1
        was = self.connected
        self.drop()
        b = self.backoff_ms
        self.backoff_ms = b = min(b * 2, _RETRY_MAX_MS) if b else _RETRY_MS
        self.due = ticks_add(now, b)
        self.last_error = "MQTT: %s" % (e,)
        if was or self.failed <= 3 or self.failed % 50 == 0:
            log.warning("mqtt: %s; retry in %d s", e, b // 1000)

    def drop(self):
        """Close the connection (no DISCONNECT: the broker publishes the last will)."""
        self.connected = False
        try:
            self.client.close()
        except Exception:
            pass

    def close(self):
        """Say offline (retained), then drop the connection (the app is stopping)."""
        if self.connected:
            try:
                self.client.publish(self.topics[1], b"offline", True)
            except Exception:
                pass
        self.drop()
