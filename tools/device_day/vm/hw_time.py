"""Stand-in for the ESP32 firmware's C `time` module, and the device's link to the day harness.

Runs inside the capped MicroPython VM (tools/device_day/day.py seeds it as
sys.modules["time"]). The clock is virtual: `now` is ms of the simulated day,
moved only by sleep_ms() (the device loop's sleep), by a time-out the harness
charges, or by 1 ms per 64 clock reads without a sleep (CPU time). ticks_ms()
counts from this boot and wraps at 2**30 like the ESP32's; time() counts s from
2000-01-01 (the ESP32 epoch) and starts at 0 on every boot until NTP sets it.

xfer() is one exchange with the harness over a Unix socket (a 12-byte header,
a 20-byte answer, payloads read straight into the caller's buffer, nothing
allocated): the UART, Wi-Fi and NTP stand-ins use it, so the simulator runs
outside this heap, in lockstep on the same clock.

Measurements, taken in sleep_ms() between two loop steps:
  every refresh cycle (the harness flags the read that delivers a meter
  reading; the cycle closes at the next sleep): the heap bytes it allocated
  (gc.mem_alloc() deltas, with the device loop's collections, which go through
  the gc stand-in, bridged), and the bytes it requested and did not free at
  once (micropython.mem_current(): function frames and buffers freed on the
  spot are not in it, and no collection changes it). Heap bytes below requested
  bytes mean the collector ran on its own (the heap ran out): that cycle counts
  its requested bytes plus a quarter for the block rounding (marked estimated);
  at every sample time: gc.collect(), the live heap, a fresh 8 KB bytearray.
The harness's own allocations are kept out of both counts.
"""

import gc
import socket
import struct
import sys

import micropython
from micropython import const

_MASK = const(0x3FFFFFFF)
_HALF = const(0x20000000)
_CPU_READS = const(64)  # clock reads without a sleep that cost 1 ms of CPU time
# flags in the harness's answer
WIFI = const(1)
READING = const(2)
STOP = const(4)
OK = const(8)

now = 0  # virtual ms of the day (the harness's clock)
_boot = 0  # now at this boot: ticks count from here
_rtc = 0  # RTC seconds since 2000 at now == 0
_reads = 0
flags = 0
avail = 0  # UART bytes waiting in the stand-in's receive buffer
nxt = 0  # virtual ms when avail may change next (the simulator's next event)
arg = 0
_sock = None
_out = bytearray(12)
_hdr = bytearray(20)
_hdrv = memoryview(_hdr)
_rep = bytearray(20)
# cycle accounting (B)
_base = 0
_acc = 0
_tot0 = 0
_own = 0
_reading = False
_sleeps = 0  # loop sleeps since the last sample
sample_at = 0x3FFFFFFF
hook = None  # the boot's callable, run at each sleep until it returns True
wdt_ms = 0  # watchdog time-out (0: not started)
_fed = 0
wdt_gap = 0
timers = []  # [due, period, callback, timer]


def ticks_ms():
    global _reads, now
    _reads += 1
    if _reads >= _CPU_READS:
        _reads = 0
        now += 1
    return (now - _boot) & _MASK


def ticks_add(t, delta):
    return (t + delta) & _MASK


def ticks_diff(a, b):
    return ((a - b + _HALF) & _MASK) - _HALF


def time():
    """Seconds since 2000-01-01 (UTC): 0 at boot until NTP sets the RTC."""
    return _rtc + now // 1000


def gmtime(secs=None):
    """(year, month, mday, hour, minute, second, weekday 0=Mon, yearday) of s since 2000."""
    if secs is None:
        secs = time()
    days, s = divmod(int(secs), 86400)
    wd = (days + 5) % 7  # 2000-01-01 was a Saturday
    y = 2000
    while True:
        n = 366 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 365
        if days < n:
            break
        days -= n
        y += 1
    yd = days + 1
    leap = n == 366
    m = 1
    for ml in (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31):
        if days < ml:
            break
        days -= ml
        m += 1
    return (y, m, days + 1, s // 3600, s % 3600 // 60, s % 60, wd, yd)


localtime = gmtime


def sleep_ms(ms):
    """The loop's sleep: the virtual clock moves on; measurements and the watchdog happen here."""
    global now, _reads, hook, _sleeps
    _reads = 0
    _sleeps += 1
    if _reading:
        _close_cycle()
    if hook is not None and hook():
        hook = None
    if ms > 0:
        now += ms
    if timers:
        _run_timers()
    if wdt_ms and now - _fed > wdt_ms:
        reset(3)  # the watchdog bites
    if now >= sample_at:
        _sample()


def sleep_us(us):
    sleep_ms(us // 1000)


def sleep(s):
    sleep_ms(int(s * 1000))


# --- the link ---------------------------------------------------------------------------------
def connect(path):
    global _sock
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(b"\x01\x00" + path.encode() + b"\x00")
    _sock = s


def _u32(i):
    h = _hdr
    return h[i] | h[i + 1] << 8 | h[i + 2] << 16 | (h[i + 3] & 0x3F) << 24


def read_into(buf, n):
    """Read exactly n bytes of the answer's payload into buf."""
    got = _sock.readinto(buf, n)
    while got < n:  # rare: the payload came in pieces
        k = _sock.readinto(memoryview(buf)[got:], n - got)
        if not k:
            raise OSError(104)
        got += k


def xfer(op, a=0, data=None, n=0):
    """Send op at now (arg a, n bytes of data); read the answer's header. Returns its payload size."""
    global flags, avail, nxt, arg, _reading
    struct.pack_into("<BBHII", _out, 0, op, 0, n, now, a)
    _sock.write(_out)
    if n:
        _sock.write(data)
    read_into(_hdrv, 20)
    f = _hdr[0]
    flags = f
    if f & READING:
        _reading = True
    avail = _u32(8)
    nxt = _u32(12)
    arg = _u32(16)
    return _hdr[2] | _hdr[3] << 8


def report(key, value):
    """A figure for the harness (boot snapshots)."""
    xfer(75, value, key, len(key))  # K


def hello():
    global now, _boot, _rtc, sample_at, _base, _tot0
    xfer(72)  # H
    now = _u32(4)
    _boot = now
    _rtc = -(now // 1000)
    sample_at = arg
    _base = gc.mem_alloc()
    _tot0 = micropython.mem_current()


def ntp():
    """NTP through the harness: sets the RTC, or OSError(ETIMEDOUT) when the network is down."""
    global _rtc
    xfer(78)  # N
    if not flags & OK:
        raise OSError(110)
    _rtc = arg - now // 1000


def reset(cause):
    """machine.reset() (1), soft_reset() (2), the watchdog (3): the harness starts the VM again."""
    xfer(88, cause)  # X
    raise SystemExit


def snap(key):
    """A boot snapshot for the harness: the live heap after gc.collect() and the qstr pools."""
    pause()
    gc.collect()
    print("DAYQ", key.decode())
    micropython.qstr_info()
    report(key, gc.mem_alloc())
    resume()


# --- measuring --------------------------------------------------------------------------------
def pause():
    """Stop counting allocations (before a collection or the harness's own work)."""
    global _acc
    _acc += gc.mem_alloc() - _base


def resume():
    global _base
    _base = gc.mem_alloc()


def collect():
    """gc.collect() for the app (the gc stand-in): the cycle count goes on across it."""
    pause()
    gc.collect()
    resume()


def own(t0):
    """Take what the harness's own work allocated since mem_current() was t0 out of the
    requested-bytes count."""
    global _own
    _own += micropython.mem_current() - t0


def discount(n):
    """Take an object of n bytes the harness allocated out of the cycle being counted."""
    global _acc, _own
    _acc -= (n + 15) & ~15
    _own += n


def _close_cycle():
    """Send the cycle's heap bytes and requested bytes (C); start the next cycle."""
    global _acc, _base, _tot0, _own, _reading
    b = _acc + gc.mem_alloc() - _base
    t = micropython.mem_current()
    r = t - _tot0 - _own
    if b < r:
        # fewer heap bytes than requested ones: the collector ran on its own (the heap ran
        # out) and freed part of what this count saw. Requested bytes plus a quarter for the
        # 16-byte blocks instead (clean cycles measure 1.1-1.2 times their requested bytes)
        b = -(r + r // 4)  # negative: counted this way
    struct.pack_into("<ii", _buf8, 0, b, r)
    xfer(67, 0, _buf8, 8)  # C: one refresh cycle
    _acc = 0
    _own = 0
    _reading = False
    _tot0 = micropython.mem_current()
    _base = gc.mem_alloc()


def fed():
    global _fed, wdt_gap
    d = now - _fed
    if d > wdt_gap:
        wdt_gap = d
    _fed = now


def start_wdt(ms):
    global wdt_ms, _fed
    wdt_ms = ms
    _fed = now


def _run_timers():
    for t in timers:
        if now >= t[0]:
            t[0] = now + t[1] if t[1] else 0x3FFFFFFF
            t[2](t[3])


def _frag():
    try:
        b = bytearray(8192)
        b[0] = 1
        return 1
    except MemoryError:
        return 0


def _sample():
    """gc.collect(), the live heap, the 8 KB check; sends the period's figures; the harness answers
    with the next sample time (or STOP: KeyboardInterrupt, the device loop closes politely)."""
    global sample_at, wdt_gap, _sleeps
    pause()
    t0 = micropython.mem_current()
    gc.collect()
    live = gc.mem_alloc()
    free = gc.mem_free()
    print("DAYQ sample")
    micropython.qstr_info()
    print("DAYM", " ".join(sys.modules))
    ok = _frag()
    struct.pack_into("<5i", _rep, 0, live, free, ok, wdt_gap, _sleeps)
    xfer(83, now - _boot, _rep, 20)  # S
    sample_at = arg
    _sleeps = 0
    wdt_gap = 0
    own(t0)
    resume()
    if flags & STOP:
        raise KeyboardInterrupt


# --- the make_record spy: the harness hears of every Ambient record the app makes --------------
MADE = ("ambient.record", "ambient")  # where make_record lives: the first loaded one is wrapped
_made = None
_buf8 = bytearray(8)


def spy_hook():
    """At each sleep of the boot: wrap make_record once its module is loaded, then take the "app"
    snapshot at the device loop's first sleep (the watchdog started: the App is built)."""
    global _made
    if _made is None:
        for name in MADE:
            m = sys.modules.get(name)
            if m is not None and hasattr(m, "make_record"):
                _made = m.make_record
                m.make_record = _make_record
                report(b"spy", 1)
                break
        else:
            return False
    if not wdt_ms:
        return False
    snap(b"app")
    return True


def _make_record(*a):
    n = len(a)  # positional calls only: a keyword call raises TypeError and the day fails loudly
    mk = _made
    if n == 6:
        rec = mk(a[0], a[1], a[2], a[3], a[4], a[5])
    elif n == 8:
        rec = mk(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
    elif n == 7:
        rec = mk(a[0], a[1], a[2], a[3], a[4], a[5], a[6])
    else:
        rec = mk(a[0], a[1], a[2], a[3], a[4])
    pause()
    t0 = micropython.mem_current()
    struct.pack_into("<q", _buf8, 0, rec.get("created", 0))
    xfer(68, 0, _buf8, 8)  # D: a record made
    own(t0)
    discount(8 + 4 * n)  # the *a tuple is the harness's, not the app's
    resume()
    return rec
