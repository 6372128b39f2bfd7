"""Stand-ins for the ESP32's `network` (WLAN), ntptime and lwIP `socket`, and for `gc`
(device day harness; one module so that it costs little heap: the boot seeds
sys.modules["network"], ["ntptime"], ["socket"] and ["gc"] with its classes).

WLAN: a station whose access point the harness switches (hw_time.flags & WIFI).
Ntp.settime(): the harness's virtual wall clock (OSError while Wi-Fi is down).
Socket: the VM's real BSD sockets, ESP32-shaped: getaddrinfo() answers
[(family, type, proto, "", ("a.b.c.d", port))] from NAMES (the LAN's DNS; it
fails while Wi-Fi is down) and connect() takes that tuple. A connect tells the
harness a request starts now (the Ambient stand-in answers per the fault
schedule at the virtual time) and fails while Wi-Fi is down. Time-outs are
real but capped at LIMIT_S of real time; when one elapses the virtual clock is
charged the caller's whole time-out (the device would have blocked that long).
Gc: the real collector; an explicit collection goes through hw_time.collect, so
the device loop's 5 s collections do not hide a cycle's allocations.
"""

import gc as _gc
import socket as _s

import hw_time as _t

LIMIT_S = 0.3
NAMES = {"pool.ntp.org": "127.0.0.123", "ambient.test": "127.0.0.1"}


class WLAN:
    PM_NONE = 0

    def __init__(self, iface=0):
        self.on = self.up = False

    def active(self, on=None):
        if on is None:
            return self.on
        self.on = bool(on)
        if not on:
            self.up = False
        return None

    def connect(self, ssid=None, key=None):
        if not self.on:
            raise OSError("Wifi Not Started")
        self.up = True  # associated as soon as the access point is there

    def disconnect(self):
        self.up = False

    def isconnected(self):
        if not _t.flags & 1:  # WIFI: the access point went away, the station drops out
            self.up = False
        return self.up and self.on

    def ifconfig(self, *a):
        return ("192.168.1.50", "255.255.255.0", "192.168.1.1", "192.168.1.1")

    def config(self, *a, **kw):
        return None


class Net:
    STA_IF = 0
    WLAN = WLAN


class Ntp:
    host = "pool.ntp.org"
    timeout = 1

    @staticmethod
    def settime():
        _t.ntp()


class Gc:
    mem_alloc = _gc.mem_alloc
    mem_free = _gc.mem_free
    enable = _gc.enable
    disable = _gc.disable

    collect = _t.collect


class Socket(_s.socket):
    _w = None

    def connect(self, addr):
        _t.xfer(80)  # P: a request starts now
        if not _t.flags & 1:
            raise OSError(113)  # EHOSTUNREACH
        if isinstance(addr, tuple):
            addr = _s.getaddrinfo(addr[0], addr[1])[0][-1]
        return super().connect(addr)

    def settimeout(self, s):
        self._w = s
        super().settimeout(s if s is None or s < LIMIT_S else LIMIT_S)

    def readline(self):
        try:
            return super().readline()
        except OSError as e:
            if e.errno == 110 and self._w:  # ETIMEDOUT after LIMIT_S: the device waited _w s
                ms = int(self._w * 1000)
                _t.now += ms
                _t.xfer(84, ms)  # T
            raise


class Sock:
    AF_INET = _s.AF_INET
    SOCK_STREAM = _s.SOCK_STREAM
    SOCK_DGRAM = _s.SOCK_DGRAM
    SOL_SOCKET = _s.SOL_SOCKET
    SO_REUSEADDR = _s.SO_REUSEADDR
    socket = Socket

    @staticmethod
    def getaddrinfo(host, port, *a):
        ip = NAMES.get(host, host)
        if not _t.flags & 1 or ip.count(".") != 3 or not ip.replace(".", "").isdigit():
            raise OSError(-202)  # lwIP: the name did not resolve
        return [(2, 1, 6, "", (ip, port))]
