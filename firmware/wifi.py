"""Wi-Fi station and the app's network calls, each bounded by its own timeout.

Wifi(ssid, password, power_save, hosts).is_connected() -> bool; connect()
drops any half-open attempt and starts a new one (the app calls it with
back-off, so a lost network comes back without a reset). The password is
registered as a secret and never logged. power_save=False turns the radio's
power save off (the HAT's RX on GPIO36: ESP32 errata 3.11, docs/hardware.md).

ntptime (and micropython-lib's requests, for https) resolve a host name with getaddrinfo
before any socket timeout applies, and a DNS server that does not answer
holds that call for lwIP's whole retry cycle (7 s per server). So the names
in hosts are resolved by resolve(), one per call, which the device loop runs
between app steps; sync_time() and http_post() then go to the cached IPv4
address (an address needs no DNS), or fail at once while there is none. A
failed call forgets the address: the name is resolved again before the next.
"""

import log
import netclock
import network


def host_of(url):
    """The host name in an http:// or https:// url."""
    return url.split("/", 3)[2].split(":", 1)[0]


class Wifi:
    def __init__(self, ssid, password, power_save=True, hosts=()):
        self.ssid = ssid
        self._password = password or ""
        log.secret(self._password)
        self.wlan = network.WLAN(network.STA_IF)
        self.wlan.active(True)
        if not power_save:
            self.wlan.config(pm=network.WLAN.PM_NONE)
            log.info("Wi-Fi: power save off (UART RX on GPIO36)")
        self.attempts = 0
        self.hosts = hosts
        self._ip = {}  # host name -> IPv4 address (str)
        self._post = None  # the last http:// post: (url, host, port, request head up to Content-Length)
        self._turn = 0

    def is_connected(self):
        return self.wlan.isconnected()

    def connect(self):
        self.attempts += 1
        log.info("Wi-Fi: connecting to %s (attempt %d)", self.ssid, self.attempts)
        try:
            self.wlan.disconnect()
        except OSError:
            pass
        try:
            self.wlan.connect(self.ssid, self._password)
        except OSError as e:  # "Wifi Internal Error" while the driver is busy: retry later
            log.warning("Wi-Fi: connect failed: %s", e)
            if self.attempts % 4 == 0:  # a stuck driver: restart the interface
                self.wlan.active(False)
                self.wlan.active(True)

    def address(self):
        """The station's IPv4 address, or None."""
        return self.wlan.ifconfig()[0] if self.wlan.isconnected() else None

    # --- names, resolved once -----------------------------------------------------------
    def resolve(self):
        """Resolve the next of hosts without an address, in turn: one blocking getaddrinfo (at
        most 7 s per DNS server). True when it made the call; False at once when none is due."""
        n = len(self.hosts)
        if len(self._ip) >= n or not self.wlan.isconnected():
            return False
        for k in range(n):  # in turn: a name that does not resolve does not starve the others
            host = self.hosts[(self._turn + k) % n]
            if host not in self._ip:
                break
        self._turn = (self._turn + k + 1) % n
        import socket  # built in (no heap); imported here so that tools/heap_report.py needs no stand-in

        try:
            ip = socket.getaddrinfo(host, 80)[0][-1][0]
        except (OSError, IndexError) as e:
            log.warning("DNS: %s not resolved (%s)", host, e)
            return True
        if isinstance(ip, str):
            self._ip[host] = ip
            log.info("DNS: %s is %s", host, ip)
        return True

    def ip(self, host):
        """host's cached IPv4 address, or None."""
        return self._ip.get(host)

    def forget(self, host):
        self._ip.pop(host, None)

    # --- the app's network calls ----------------------------------------------------------
    def sync_time(self):
        """Set the RTC from NTP at the cached address of netclock.HOST; False without one."""
        ip = self._ip.get(netclock.HOST)
        if ip is None:
            return False
        if netclock.sync(ip):
            return True
        self.forget(netclock.HOST)
        return False

    def http_post(self, url, body, timeout_s):
        """POST JSON bytes; returns the HTTP status (int).

        http:// urls: an HTTP/1.0 request over a socket to the host's cached address (OSError
        at once while there is none) with the url's host as the Host header; timeout_s bounds
        the connect, the writes and the status line, the only part of the answer read. The
        request head is made once per url: a post allocates little (micropython-lib's requests
        took ~1 KB a post). https:// urls: by name through requests (TLS needs it; DNS not
        bounded)."""
        if url[:7] != "http://":
            import requests

            h = {"Content-Type": "application/json"}
            r = requests.post(url, data=body, headers=h, timeout=timeout_s, parse_headers=False)
            status = r.status_code
            r.close()
            return status
        p = self._post
        if p is None or p[0] != url:
            netloc, _, path = url[7:].partition("/")
            host, _, port = netloc.partition(":")
            head = "POST /%s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: "
            p = self._post = (url, host, int(port) if port else 80, (head % (path, netloc)).encode())
        ip = self._ip.get(p[1])
        if ip is None:
            raise OSError(113)  # EHOSTUNREACH: not resolved yet
        import socket  # built in

        s = socket.socket()  # TCP over IPv4
        try:
            s.settimeout(timeout_s)
            s.connect((ip, p[2]))  # the ESP32 port takes (address, port): no DNS
            s.write(p[3])
            s.write(b"%d\r\n\r\n" % len(body))
            s.write(body)
            line = s.readline()
        except OSError:
            self.forget(p[1])
            raise
        finally:
            s.close()
        if len(line) < 12 or not line.startswith(b"HTTP/"):  # b"HTTP/1.1 200 OK\r\n"
            raise ValueError("HTTP: no status line")
        return int(line[9:12])
