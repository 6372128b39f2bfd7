"""The device's MQTT client for lib/mqtt: micropython-lib's umqtt.simple, frozen into the stock firmware.

Client(host, port, client_id, user, password, topic, keepalive) has the
publish interface lib/mqtt uses: connect() (OSError on failure), publish(topic,
msg, retain), close(). The last will (b"offline", retained on topic, the
status topic) is set here; keepalive in s. Every network call is bounded: connect() and publish() run on a
socket with settimeout(timeout_s) (umqtt.simple's connect(timeout=...)).
net (firmware/wifi.py's Wifi, optional): the broker's name is not looked up
here (lwIP's DNS can hold a call for 7 s per server) but taken from net.ip(),
which the device loop resolves between steps; connect() fails at once while
there is no address, and a failed connect forgets it. Where the firmware lacks
umqtt.simple: `mpremote mip install umqtt.simple`.
"""

import gc

from micropython import const
from umqtt.simple import MQTTClient, MQTTException  # pyright: ignore[reportMissingImports]

_TIMEOUT_S = const(5)


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
        timeout_s=_TIMEOUT_S,
        net=None,
    ):
        self.host = host
        self.net = net
        self.where = "%s:%d" % (host, port)
        self.timeout_s = timeout_s
        c = MQTTClient(client_id, host, port, user, password, keepalive)
        if topic:
            c.set_last_will(topic, b"offline", True)
        self.mqtt = c

    def connect(self):
        """Open the connection; OSError naming the broker (never a credential) on failure."""
        self.close()
        gc.collect()  # the socket and its buffers stay: low in the heap, not above the garbage
        net = self.net
        if net is not None:
            ip = net.ip(self.host)
            if ip is None:
                raise OSError("MQTT broker %s: name not resolved yet" % self.where)
            self.mqtt.server = ip
        try:
            self.mqtt.connect(True, self.timeout_s)
        except MQTTException as e:  # CONNACK refused: 4 bad user name or password, 5 not authorised
            self.close()
            code = e.args[0] if e.args else 0
            if code == 4 or code == 5:
                raise OSError(
                    "MQTT broker %s: not authorised (check mqtt.user and mqtt.password)" % self.where
                )
            raise OSError("MQTT broker %s refused the connection (code %s)" % (self.where, code))
        except Exception as e:  # OSError, or a short answer (IndexError, AssertionError)
            self.close()
            if net is not None:
                net.forget(self.host)
            raise OSError("MQTT broker %s: %s" % (self.where, e if isinstance(e, OSError) else repr(e)))

    def publish(self, topic, msg, retain):
        """One message, QoS 0; OSError when the connection is gone."""
        s = self.mqtt.sock
        if s is None:
            raise OSError("MQTT: not connected")
        s.settimeout(0)  # the broker sends nothing to a QoS 0 publisher: an end of stream here is its close
        try:
            data = s.read(16)
        finally:
            s.settimeout(self.timeout_s)
        if data == b"":
            raise OSError("MQTT broker %s closed the connection" % self.where)
        self.mqtt.publish(topic, msg, retain)

    def close(self):
        """Drop the connection (no DISCONNECT: the broker publishes the last will)."""
        s = self.mqtt.sock
        self.mqtt.sock = None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass


def publisher(cfg, net, now):
    """A lib/mqtt Publisher for the config's mqtt section through this client (names from net)."""
    import mqtt

    return mqtt.Publisher(cfg, lambda *args: Client(*args, net=net), now)
