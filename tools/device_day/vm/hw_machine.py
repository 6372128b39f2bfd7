"""Stand-in for the ESP32 `machine` module (device day harness; kept small: it lives in the heap).

UART: the BP35A1 behind the harness's socket: any() answers from the last
exchange until the simulator's next event is due, readinto() reads straight
into the caller's buffer, write() hands the bytes over. Pin: outputs keep a
level; GPIO 39 (button B) is pressed at :05, :15 and :25 of every hour and
GPIO 37 (A) at :45, for 150 ms. I2C answers like the AXP192 (a register file,
chip ID 3, a 4.1 V battery), SPI swallows bytes, WDT is the harness's watchdog
(it resets the VM when starved), Timer callbacks run from the loop's sleep.
reset()/soft_reset(): the harness boots a new VM on the same flash.
"""

import hw_time as _t

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def reset_cause():
    return PWRON_RESET


def reset():
    _t.reset(1)


def soft_reset():
    _t.reset(2)


def unique_id():
    return b"\x24\x0a\xc4\x00\x5a\x1f"


class Pin:
    IN = 1
    OUT = 3
    PULL_UP = 2

    def __init__(self, id, mode=-1, pull=-1, value=1):
        self.id = id
        self.v = value

    def value(self, v=None):
        if v is not None:
            self.v = v
            return None
        i = self.id
        if i == 39 or i == 37:
            m = _t.now % 3600000 // 150  # 150 ms steps of the hour
            return 0 if (m in (2000, 6000, 10000) if i == 39 else m == 18000) else 1
        return self.v

    __call__ = value


class UART:
    def __init__(self, id, rxbuf=256, **kw):
        _t.snap(b"uart")
        _t.xfer(85, rxbuf)  # U: bytes beyond the receive buffer are lost

    def any(self):
        if _t.now >= _t.nxt:
            _t.xfer(65)  # A
        return _t.avail

    def readinto(self, buf, n=-1):
        if _t.now >= _t.nxt:
            _t.xfer(65)
        if n < 0 or n > len(buf):
            n = len(buf)
        if n > _t.avail:
            n = _t.avail
        if not n:
            return None
        _t.xfer(82, n)  # R: n bytes follow
        _t.read_into(buf, n)
        return n

    def write(self, buf):
        n = len(buf)
        _t.xfer(87, 0, buf, n)  # W
        return n


class I2C:
    def __init__(self, id=0, **kw):
        _t.snap(b"i2c")
        r = self.r = bytearray(256)
        r[3] = 3  # chip ID
        r[0x12] = 0x4D
        r[0x78] = 0xE8  # battery: 3727 x 1.1 mV
        r[0x79] = 0x0F

    def readfrom_mem_into(self, addr, reg, buf):
        for i in range(len(buf)):
            buf[i] = self.r[reg + i] if addr == 0x34 else 0

    def readfrom_mem(self, addr, reg, n):
        b = bytearray(n)
        self.readfrom_mem_into(addr, reg, b)
        return b

    def writeto_mem(self, addr, reg, buf):
        if addr == 0x34:
            self.r[reg : reg + len(buf)] = buf


class SPI:
    def __init__(self, *a, **kw):
        pass

    def write(self, buf):
        pass


class PWM:
    def __init__(self, pin, **kw):
        pass

    def duty_u16(self, v=None):
        return 0


class WDT:
    def __init__(self, id=0, timeout=5000):
        _t.snap(b"wdt")
        _t.start_wdt(timeout)

    def feed(self):
        _t.fed()


class Timer:
    PERIODIC = 1

    def __init__(self, id=-1):
        self.t = None

    def init(self, mode=1, period=1000, callback=None):
        self.deinit()
        self.t = [_t.now + period, period if mode == 1 else 0, callback, self]
        _t.timers.append(self.t)

    def deinit(self):
        if self.t is not None:
            _t.timers.remove(self.t)
            self.t = None
