"""Start-up and recovery of a B-route session: set the module up, close an old session, find the meter, join.

Connect is the task a Session runs while it has no session: Session.poll()
calls step(now) until it returns True and hands it what the module prints
meanwhile (event(), line()). The session imports this module
for the task and drops it once joined, so its bytecode is not in the
device's heap in the steady state.

Every join path may meet a module that still holds a PANA session (the
HAT keeps power when only the ESP32 resets, or the driver gave up on a
session the module kept): SKTERM comes first, where FAIL ER10 means there
was none; a SKJOIN refused with FAIL ER10 all the same is answered with
SKRESET and a fresh set-up; FAIL ER10 is never read as a wrong password.
Credentials go to the module only: never logged, never in an exception.
"""

import log
from link import sk_scan  # noqa: F401  (kept loaded while this runs: EPANDESC lines parse without reloading)
from ticks import ticks_add, ticks_diff

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_CMD_MS = const(3000)  # OK/FAIL of an SK command
_TERM_MS = const(10000)  # SKTERM -> EVENT 27/28
_JOIN_MS = const(40000)  # SKJOIN -> EVENT 25/24

_OK = const(0)  # the kinds of link.sk.parse_line
_FAIL = const(1)
_EVER = const(2)
_EPANDESC = const(6)
_FIELD = const(7)
_ECHO = const(10)
_UNKNOWN = const(11)

_JOINED = const(0)  # what a join attempt came to
_BUSY = const(1)  # FAIL ER10: the module still holds a session
_REFUSED = const(2)  # EVENT 24
_FAILED = const(3)  # no EVENT 25/24 in time, or another FAIL

NO_METER = "No meter found: check the HAT and the ID"
BUSY = "Module busy with an old session"


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


def backoff(n):
    """Wait before attempt n+1 (ms): 10 s doubling to 10 min."""
    return min(10000 << min(n - 1, 6), 600000)


def _ok(r):
    return r is not None and r[0] == _OK


class Connect:
    """The join task. job: (uart, store, counters, info, rbid, password): the
    module's UART, the store (pan, dialect), the session's dicts and the credentials.

    setup: set the module up first (else SKTERM only); rescan: ignore the cached PAN; lost:
    sessions lost in a row (3+: back off first); known: these credentials joined before (a
    refused join is then not the password); echo_off, dss: what the session knows; now: ticks ms.
    Shown while it runs: state, status, progress (0..100), error; wake: its next deadline.
    The session hands on what the module prints (event(num), line(parsed tuple)) and sets dss
    when EVENT lines carry a SIDE. When step() returns True: ip (the meter's IPv6 address), dss,
    echo_off.
    """

    def __init__(self, job, dss, setup, rescan, lost, known, echo_off, now):
        self._uart, self._store, self._counters, self._info, self._rbid, self._pwd = job
        self._known = known
        self._now = self.wake = now
        self.dss = dss
        self.echo_off = echo_off
        self.reply = None
        self.ip = None
        self.state = "start" if setup else "join"
        self.status = "Starting" if setup else "Joining"
        self.progress = 0
        self.error = None
        self._pans = None  # EPANDESC dicts while scanning
        self._scanned = False
        self._result = None  # EVENT 25 (True) / 24 (False) after SKJOIN
        self._ended = False  # EVENT 27/28 after SKTERM
        self._gen = self._run(setup, rescan, lost)

    # ---- the session hands these on ------------------------------------
    def step(self, now):
        """Run until the next wait; True when joined (ip is set)."""
        self._now = now
        try:
            next(self._gen)
        except StopIteration:
            return True
        return False

    def event(self, num):
        if num == 0x22:
            self._scanned = True
        elif num == 0x25 or num == 0x24:
            self._result = num == 0x25
        elif 0x26 <= num <= 0x28:
            self._ended = True

    def line(self, t):
        """Any other parsed line (sk.parse_line's tuple)."""
        kind = t[0]
        if kind == _OK or kind == _FAIL:
            self.reply = t
        elif kind == _EVER:
            self._info["version"] = t[1]
        elif kind == _EPANDESC:
            if self._pans is not None:
                self._pans.append({})
        elif kind == _FIELD:
            if self._pans:
                self._pans[-1][t[1]] = t[2]
        elif kind == _ECHO:
            self.echo_off = False  # echo during set-up: this module ignores SFE 0
        elif kind == _UNKNOWN:
            self._counters["bad_lines"] += 1

    # ---- the task --------------------------------------------------------
    def _show(self, state, status, progress=0):
        self.state = state
        self.status = status
        self.progress = progress

    def _fail(self, status):
        self.error = status
        self._show("failed", status)

    def _cmd(self, text, ms=_CMD_MS, shown=None):
        """Send one SK command; its OK/FAIL tuple, or None after ms."""
        log.debug("> %s", shown or text.decode())
        self.reply = None
        self._uart.write(text + b"\r\n")
        until = self.wake = ticks_add(self._now, ms)
        while self.reply is None:
            if ticks_diff(until, self._now) <= 0:
                log.debug("no answer to %s", shown or text.decode())
                return None
            yield
        return self.reply

    def _wait(self, ms):
        until = self.wake = ticks_add(self._now, ms)
        while ticks_diff(until, self._now) > 0:
            yield

    def _run(self, setup, rescan, lost):
        """Set up the module (once), close an old session, find the meter (cache or scan), join."""
        pan = None
        cached = False
        fails = 0
        reset = False
        if lost >= 3:  # joined, yet the meter keeps not answering: slow down
            self._fail("Meter not answering")
            yield from self._wait(backoff(lost - 2))
        while True:
            if setup:
                self._show("start", "Starting")
                ok = yield from self._setup()
                if not ok:
                    fails += 1
                    yield from self._wait(backoff(fails))
                    continue
                setup = False
            else:
                self._show("join", "Joining")
                yield from self._term()
            if pan is None and not rescan:
                pan = self._store.get("pan")
                cached = pan is not None
                if cached:
                    log.info("joining the cached PAN (no scan)")
            if pan is None:
                pan = yield from self._scan()
                if pan is None:
                    fails += 1
                    self._fail(NO_METER)
                    yield from self._wait(backoff(fails))
                    setup = True
                    continue
            r = yield from self._join(pan)
            if r == _JOINED:
                return
            if r == _BUSY:
                if not reset:  # SKTERM did not free it: reset the module and set it up again
                    reset = True
                    log.warning(BUSY)  # SKJOIN refused with FAIL ER10 after SKTERM: SKRESET
                    yield from self._cmd(b"SKRESET", 5000)
                    setup = True
                    continue
                fails += 1
                self._fail(BUSY)
                yield from self._wait(backoff(fails))
                setup = True
                reset = False
                continue
            if cached and not self._known:  # at start-up the meter may have moved; after a loss, retry
                log.info("join with the cached PAN failed: scanning afresh")
                self._counters["rescans"] += 1
                pan = None
                cached = False
                rescan = True
                continue
            fails += 1
            if r == _REFUSED and not self._known:
                self._fail("Join failed (%d): check the password" % fails)
            else:
                self._fail("Join failed (%d): meter not answering" % fails)
            yield from self._wait(backoff(fails))
            setup = True  # the module may have been reset meanwhile
            if fails % 3 == 0:
                pan = None
                rescan = True

    def _setup(self):
        r = None
        for _ in range(3):
            r = yield from self._cmd(b"SKSREG SFE 0")
            if _ok(r):
                break
        if not _ok(r):
            self._fail("No answer from the Wi-SUN module")
            return False
        self.echo_off = True
        yield from self._term()  # the module answers: end a session it may hold from before
        yield from self._cmd(b"SKVER")
        r = yield from self._cmd(b"ROPT")
        info = self._info
        if _ok(r) and r[1] == "00":  # pyright: ignore[reportOptionalSubscript]
            # binary ERXUDP: WOPT 01 writes flash, so only when needed, once per module
            r = yield from self._cmd(b"WOPT 01", 5000)
            if _ok(r):
                log.info("module set to hex ERXUDP (WOPT 01)")
                info["hex"] = True
            else:
                log.warning("WOPT 01 failed: reading binary ERXUDP")
                info["hex"] = False
        else:  # OK 01: hex; no ROPT (FAIL): each ERXUDP line tells which it is
            info["hex"] = True if _ok(r) else None
        log.info("set password (%d chars)", len(self._pwd))
        pwd = self._pwd.encode()
        r = yield from self._cmd(("SKSETPWD %X " % len(pwd)).encode() + pwd, shown="SKSETPWD")
        if not _ok(r):
            self._fail("Password rejected by the module")
            return False
        log.info("set B-route ID (%d chars)", len(self._rbid))
        r = yield from self._cmd(b"SKSETRBID " + self._rbid.encode(), shown="SKSETRBID")
        if not _ok(r):
            self._fail("B-route ID rejected")
            return False
        return True

    def _term(self):
        """SKTERM: end a PANA session the module may hold (FAIL ER10: it holds none)."""
        self._ended = False
        r = yield from self._cmd(b"SKTERM")
        if _ok(r):  # it held one: wait until it ended
            until = self.wake = ticks_add(self._now, _TERM_MS)
            while not self._ended and ticks_diff(until, self._now) > 0:
                yield

    def _scan(self):
        """Active scans with growing duration; the PAN dict or None."""
        self._counters["scans"] += 1
        n = 4  # durations 4, 5, 6, 7
        i = 0
        flipped = False
        while i < n:
            d = 4 + i
            self._show("scan", "Scanning (%d/%d)" % (i + 1, n), i * 100 // n)
            self._pans = []
            self._scanned = False
            text = "SKSCAN 2 FFFFFFFF %X" % d
            if self.dss:
                text += " 0"
            r = yield from self._cmd(text.encode())
            if r is not None and r[0] == _FAIL and r[1] == "ER05" and not flipped:
                flipped = True  # the other dialect's argument count
                log.info("SKSCAN refused: trying the %s syntax", "BP35A1" if self.dss else "BP35C0")
                self.dss = not self.dss
                continue
            if _ok(r):
                total = scan_ms(d)
                start = self._now
                until = self.wake = ticks_add(start, total * 3 // 2 + 5000)
                while not self._scanned and ticks_diff(until, self._now) > 0:
                    done = ticks_diff(self._now, start) * 100 // total
                    self.progress = (i * 100 + (done if done < 100 else 99)) // n
                    yield
            pan = self._pick()
            self._pans = None
            if pan is not None:
                log.info("found PAN %s on channel %s (LQI %d)", pan["pan_id"], pan["channel"], pan["lqi"])
                return pan
            i += 1
        return None

    def _pick(self):
        best = None
        pair = self._rbid[-8:].upper()
        for p in self._pans or ():
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

    def _join(self, pan):
        self._counters["joins"] += 1
        self._show("join", "Joining")
        try:
            ch = pan["channel"]
            pan_id = pan["pan_id"]
            ip = ll64(pan["addr"])
            int(ch, 16)
            int(pan_id, 16)
        except (KeyError, TypeError, ValueError):
            log.warning("bad PAN descriptor: ignored")
            return _FAILED
        r = yield from self._cmd(b"SKSREG S2 " + ch.encode())
        if not _ok(r):
            return _FAILED
        r = yield from self._cmd(b"SKSREG S3 " + pan_id.encode())
        if not _ok(r):
            return _FAILED
        self._result = None
        r = yield from self._cmd(b"SKJOIN " + ip.encode())
        if not _ok(r):
            if r is not None and r[1] == "ER10":  # pyright: ignore[reportOptionalSubscript]
                return _BUSY
            return _FAILED
        start = self._now
        until = self.wake = ticks_add(start, _JOIN_MS)
        while self._result is None:
            if ticks_diff(until, self._now) <= 0:
                log.warning("join timed out")
                return _FAILED
            p = ticks_diff(self._now, start) // 100  # ~10 s to join
            self.progress = p if p < 95 else 95
            yield
        if not self._result:
            log.warning("join refused (EVENT 24)")
            return _REFUSED
        self.ip = ip
        store = self._store
        store.set("pan", pan)
        store.set("dialect", "bp35c0" if self.dss else "bp35a1")
        store.save()
        info = self._info
        info["channel"] = ch
        info["pan_id"] = pan_id
        info["addr"] = pan["addr"]
        info["lqi"] = pan.get("lqi")
        return _JOINED
