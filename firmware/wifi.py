"""Wi-Fi station and the app's network calls, each bounded by its own timeout.

Wifi(ssid, password, power_save, hosts).is_connected() -> bool; connect()
drops any half-open attempt and starts a new one (the app calls it with
back-off, so a lost network comes back without a reset). The password is
registered as a secret and never logged. power_save=False turns the radio's
power save off (the HAT's RX on GPIO36: ESP32 errata 3.11, docs/hardware.md).

micropython-lib's requests and ntptime resolve a host name with getaddrinfo
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
        """POST JSON bytes with micropython-lib requests; returns the HTTP status.

        http:// urls go to the host's cached address with a Host header (OSError at once
        while there is none); https:// ones by name (TLS needs it: DNS not bounded)."""
        import requests

        headers = {"Content-Type": "application/json"}
        if url.startswith("http://"):
            netloc, path = (url[7:].split("/", 1) + [""])[:2]
            host = netloc.split(":", 1)[0]
            ip = self._ip.get(host)
            if ip is None:
                raise OSError(113)  # EHOSTUNREACH: not resolved yet
            headers["Host"] = netloc
            url = "http://" + ip + netloc[len(host) :] + "/" + path
        else:
            host = None
        try:
            r = requests.post(url, data=body, headers=headers, timeout=timeout_s, parse_headers=False)
        except OSError:
            if host is not None:
                self.forget(host)
            raise
        status = r.status_code
        r.close()
        return status
