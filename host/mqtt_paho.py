"""Host mode's MQTT client for lib/mqtt: paho-mqtt (requirements-dev.txt), without its thread.

Client(host, port, client_id, user, password, topic, keepalive) has the
publish interface lib/mqtt uses: connect() (OSError on failure), publish(topic,
msg, retain), close(); the same as firmware/mqtt_umqtt.py. The last will
(b"offline", retained on topic, the status topic) is set here; keepalive in s.
Nothing blocks beyond timeout_s: connect() waits at most that long for the CONNACK, publish() hands
the message to a non-blocking socket and fails when the last one is still
unsent (a stalled broker) or the connection is gone.
"""

import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

TIMEOUT_S = 5


class Client:
    def __init__(
        self,
        host,
        port,
        client_id,
        user=None,
        password=None,
        topic=None,
        keepalive=60,
        timeout_s=TIMEOUT_S,
    ):
        self.host = host
        self.port = port
        self.where = "%s:%d" % (host, port)
        self.client_id = client_id
        self.user = user
        self.password = password
        self.will_topic = topic
        self.keepalive = keepalive
        self.timeout_s = timeout_s
        self.paho = None
        self._answer = None

    def _on_connect(self, client, userdata, flags, reason, properties):
        self._answer = reason

    def connect(self):
        """Open the connection; OSError naming the broker (never a credential) on failure."""
        self.close()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, reconnect_on_failure=False)
        c.connect_timeout = self.timeout_s
        if self.user:
            c.username_pw_set(self.user, self.password)
        if self.will_topic:
            c.will_set(self.will_topic, b"offline", 0, True)
        c.on_connect = self._on_connect
        self._answer = None
        self.paho = c
        try:
            c.connect(self.host, self.port, self.keepalive)
            end = time.monotonic() + self.timeout_s
            while self._answer is None:
                left = end - time.monotonic()
                if left <= 0:
                    raise OSError("no answer in %d s" % self.timeout_s)
                rc = c.loop(min(left, 0.5))
                if rc != paho.MQTT_ERR_SUCCESS and self._answer is None:
                    raise OSError("connection lost (%s)" % paho.error_string(rc))
        except (OSError, ValueError) as e:
            self.close()
            raise OSError("MQTT broker %s: %s" % (self.where, e)) from None
        reason = self._answer
        if reason.is_failure:
            self.close()
            if reason.value in (0x86, 0x87):  # bad user name or password, not authorized
                raise OSError(
                    "MQTT broker %s: not authorised (check mqtt.user and mqtt.password)" % self.where
                )
            raise OSError("MQTT broker %s refused the connection (%s)" % (self.where, reason))

    def publish(self, topic, msg, retain):
        """One message, QoS 0; OSError when the connection is gone or the last message is still unsent."""
        c = self.paho
        if c is None:
            raise OSError("MQTT: not connected")
        rc = c.loop(0)  # reads what came in (a close), sends what is left
        if rc != paho.MQTT_ERR_SUCCESS or not c.is_connected():
            raise OSError("MQTT broker %s: connection lost (%s)" % (self.where, paho.error_string(rc)))
        if c.want_write():
            raise OSError("MQTT broker %s: not taking messages" % self.where)
        info = c.publish(topic, msg, 0, retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise OSError("MQTT broker %s: %s" % (self.where, paho.error_string(info.rc)))

    def close(self):
        """Drop the connection (no DISCONNECT: the broker publishes the last will)."""
        c = self.paho
        self.paho = None
        if c is not None:
            s = c.socket()
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
