"""Start-up of a B-route session: module set-up, scan and join (a generator driven by Session.poll).

Only needed while the session connects: Session imports this module for
the task and drops it from sys.modules once joined, so its bytecode does
not stay in the device's heap in the steady state. s is the Session.
ll64(), scan_ms() and NO_METER live here too. Credentials go to the module only: never
logged, never in an exception.
"""

import log
from link import sk
from link import sk_scan  # noqa: F401  (kept loaded while this runs: the scan's EPANDESC lines parse without reloading)
from ticks import ticks_add, ticks_diff

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_CMD_MS = const(3000)  # OK/FAIL of an SK command
_JOIN_MS = const(40000)  # SKJOIN -> EVENT 25/24

NO_METER = "No meter found: check the HAT and the ID"


def ll64(mac):
    """IPv6 link-local address of a 16-hex-digit MAC (the U/L bit flipped), as SKLL64 prints it."""
    mac = mac.upper()
    if len(mac) != 16:
        raise ValueError("MAC must be 16 hex digits")
    return "FE80:0000:0000:0000:%02X%s:%s:%s:%s" % (
        int(mac[0:2], 16) ^ 0x02,
        mac[2:4],
        mac[4:8],
        mac[8:12],
        mac[12:16],
    )


def scan_ms(duration):
    """Expected SKSCAN time (ms) for a duration code: 28 channels x 9.6 ms x (2**d + 1)."""
    return 28 * 96 * ((1 << duration) + 1) // 10


def _backoff(n):
    """Wait before attempt n+1 (ms): 10 s doubling to 10 min."""
    return min(10000 << min(n - 1, 6), 600000)


def _fail(s, status):
    s.error = status
    s._state("failed", status)


def _cmd(s, text, ms=_CMD_MS, shown=None):
    """Send one SK command; returns its OK/FAIL tuple, or None after ms."""
    log.debug("> %s", shown or text.decode())
    s._resp = None
    s._uart.write(text + b"\r\n")
    s._cmd_until = s._until = ticks_add(s._now, ms)
    while s._resp is None:
        if ticks_diff(s._until, s._now) <= 0:
            s._cmd_until = None
            log.debug("no answer to %s", shown or text.decode())
            return None
        yield
    return s._resp


def _ok(r):
    return r is not None and r[0] == sk.OK


def _wait(s, ms):
    s._until = ticks_add(s._now, ms)
    while ticks_diff(s._until, s._now) > 0:
        yield


def connect(s, setup, rescan):
    """Set up the module (once), find the meter (cache or scan), join."""
    pan = None
    cached = False
    fails = 0
    if s._lost >= 3:  # joined, yet the meter keeps not answering: slow down
        _fail(s, "Meter not answering")
        yield from _wait(s, _backoff(s._lost - 2))
    while True:
        if setup:
            s._state("start", "Starting")
            ok = yield from _setup(s)
            if not ok:
                fails += 1
                yield from _wait(s, _backoff(fails))
                continue
            setup = False
        if pan is None and not rescan:
            pan = s._store.get("pan")
            cached = pan is not None
            if cached:
                log.info("joining the cached PAN (no scan)")
        if pan is None:
            pan = yield from _scan(s)
            if pan is None:
                fails += 1
                _fail(s, NO_METER)
                yield from _wait(s, _backoff(fails))
                setup = True
                continue
        ok = yield from _join(s, pan)
        if ok:
            _ready(s)
            return
        if cached:
            log.info("join with the cached PAN failed: scanning afresh")
            s.counters["rescans"] += 1
            pan = None
            cached = False
            rescan = True
            continue
        fails += 1
        _fail(s, "Join failed (%d): check the password" % fails)
        yield from _wait(s, _backoff(fails))
        setup = True  # the module may have been reset meanwhile
        if fails % 3 == 0:
            pan = None
            rescan = True


def _setup(s):
    r = None
    for _ in range(3):
        r = yield from _cmd(s, b"SKSREG SFE 0")
        if _ok(r):
            break
    if not _ok(r):
        _fail(s, "No answer from the Wi-SUN module")
        return False
    s._echo_off = True
    yield from _cmd(s, b"SKVER")
    r = yield from _cmd(s, b"ROPT")
    binary = _ok(r) and r[1] == "00"  # pyright: ignore[reportOptionalSubscript]
    reader = s._reader
    reader.binary = binary
    if binary:  # WOPT writes flash: only when needed, so once per module
        r = yield from _cmd(s, b"WOPT 01", 5000)
        if _ok(r):
            log.info("module set to hex ERXUDP (WOPT 01)")
            reader.binary = False
        else:
            log.warning("WOPT 01 failed: reading binary ERXUDP")
    s.info["hex"] = not reader.binary
    log.info("set password (%d chars)", len(s._pwd))
    pwd = s._pwd.encode()
    r = yield from _cmd(s, ("SKSETPWD %X " % len(pwd)).encode() + pwd, shown="SKSETPWD")
    if not _ok(r):
        _fail(s, "Password rejected by the module")
        return False
    log.info("set B-route ID (%d chars)", len(s._rbid))
    r = yield from _cmd(s, b"SKSETRBID " + s._rbid.encode(), shown="SKSETRBID")
    if not _ok(r):
        _fail(s, "B-route ID rejected")
        return False
    return True


def _scan(s):
    """Active scans with growing duration; the PAN dict or None."""
    s.counters["scans"] += 1
    durations = s._durations
    n = len(durations)
    i = 0
    flipped = False
    while i < n:
        d = durations[i]
        s._state("scan", "Scanning (%d/%d)" % (i + 1, n), i * 100 // n)
        s._pans = []
        s._scan_done = False
        text = "SKSCAN 2 FFFFFFFF %X" % d
        if s._dss:
            text += " 0"
        r = yield from _cmd(s, text.encode())
        if r is not None and r[0] == sk.FAIL and r[1] == "ER05" and not flipped:
            flipped = True  # the other dialect's argument count
            log.info("SKSCAN refused: trying the %s syntax", "BP35A1" if s._dss else "BP35C0")
            s._set_dss(not s._dss)
            continue
        if _ok(r):
            total = scan_ms(d)
            start = s._now
            s._until = ticks_add(start, total * 3 // 2 + 5000)
            while not s._scan_done and ticks_diff(s._until, s._now) > 0:
                done = ticks_diff(s._now, start) * 100 // total
                s.progress = (i * 100 + (done if done < 100 else 99)) // n
                yield
        pan = _pick(s)
        s._pans = None
        if pan is not None:
            log.info("found PAN %s on channel %s (LQI %d)", pan["pan_id"], pan["channel"], pan["lqi"])
            return pan
        i += 1
    return None


def _pick(s):
    best = None
    pair = s._rbid[-8:].upper()
    for p in s._pans or ():
        if "Channel" not in p or "Pan ID" not in p or "Addr" not in p:
            continue
        try:
            lqi = int(p.get("LQI", "0"), 16)
        except ValueError:
            lqi = 0
        score = lqi + (1000 if p.get("PairID", "").upper() == pair else 0)
        if best is None or score > best[0]:
            best = (score, p, lqi)
    if best is None:
        return None
    p = best[1]
    return {"channel": p["Channel"], "pan_id": p["Pan ID"], "addr": p["Addr"], "lqi": best[2]}


def _join(s, pan):
    s.counters["joins"] += 1
    s._state("join", "Joining", 0)
    try:
        ch = pan["channel"]
        pan_id = pan["pan_id"]
        ip = ll64(pan["addr"])
        int(ch, 16)
        int(pan_id, 16)
    except (KeyError, TypeError, ValueError):
        log.warning("bad PAN descriptor: ignored")
        return False
    r = yield from _cmd(s, b"SKSREG S2 " + ch.encode())
    if not _ok(r):
        return False
    r = yield from _cmd(s, b"SKSREG S3 " + pan_id.encode())
    if not _ok(r):
        return False
    s._join_result = None
    r = yield from _cmd(s, b"SKJOIN " + ip.encode())
    if not _ok(r):
        return False
    start = s._now
    s._until = ticks_add(start, _JOIN_MS)
    while s._join_result is None:
        if ticks_diff(s._until, s._now) <= 0:
            log.warning("join timed out")
            return False
        p = ticks_diff(s._now, start) // 100  # ~10 s to join
        s.progress = p if p < 95 else 95
        yield
    if not s._join_result:
        log.warning("join refused (EVENT 24)")
        return False
    s._ip = ip
    s._header()
    store = s._store
    store.set("pan", pan)
    store.set("dialect", "bp35c0" if s._dss else "bp35a1")
    store.save()
    info = s.info
    info["channel"] = ch
    info["pan_id"] = pan_id
    info["addr"] = pan["addr"]
    info["lqi"] = pan.get("lqi")
    return True


def _ready(s):
    log.info("joined: reading every %d s", s._refresh_ms // 1000)
    s._state("ready", "Connected", 100)
    s.error = None
    s._req = 0
    s._resend = False
    s._hist_next = False
    s._info_ok = False
    s._next_read = s._now
    s._base_next = s._now
    s._infc = []
