"""The session's seldom work: D3/E1/D7 and E2/E4 answers, refusals, lost sessions, holds, close().

Session._rare(name, ...) imports this module, calls name(session, ...) and
drops the module from sys.modules again, so its bytecode is in the device's
heap only while such a (few times a day) event is handled; the steady
request/answer cycle never loads it. s is the Session.
"""

import billing
from meter import echonet
import log
import meter
from link import sk
from ticks import ticks_add, ticks_diff

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


# the request kinds and history purposes of session.py (same values)
_INFO = const(2)
_SETDAY = const(3)
_HIST = const(4)
_BASE = const(1)
_TODAY = const(2)
_BASE_RETRY_MS = const(600000)  # baseline not available yet: ask again later
_REAUTH_MS = const(60000)  # EVENT 29 -> EVENT 25 at the latest
_PAUSE_MS = const(3900000)  # EVENT 32 -> EVENT 33 at the latest (the limit is per hour)


def answer(s, kind, f):
    """The meter's answer f to a request of kind _INFO, _HIST, or a refused _SETDAY."""
    if kind == _INFO:
        _info(s, f)
    elif kind == _SETDAY:
        log.warning("meter refuses E5 (history day)")
        _failed(s, 3600000)
    elif kind == _HIST:
        _history(s, f)


def event(s, num):
    """EVENT 24-29, 32, 33 outside a join: session ended or expired, re-authenticated, transmit limit."""
    task = s._task is not None
    st = s.state
    if num == 0x25:
        if not task and st == "reauth":
            log.info("re-authenticated")
            _resume(s)
    elif num == 0x24:
        if not task and (st == "ready" or st == "reauth" or st == "paused"):
            lose(s, "PANA authentication failed (EVENT 24)")
    elif num == 0x29:
        if not task and (st == "ready" or st == "paused"):
            log.info("PANA session expired (EVENT 29): holding requests")
            _hold(s, "reauth", "Re-authenticating", _REAUTH_MS)
    elif num == 0x26 or num == 0x27 or num == 0x28:
        if s._closing:
            s._closed = True
        elif not task and (st == "ready" or st == "reauth" or st == "paused"):
            lose(s, "session ended (EVENT %X)" % num)
    elif num == 0x32:
        if not task and st == "ready":
            log.warning("radio transmit limit (EVENT 32): paused")
            _hold(s, "paused", "Paused: radio transmit limit", _PAUSE_MS)
    elif num == 0x33:
        if st == "paused":
            log.info("transmit limit released (EVENT 33)")
            _resume(s)


def lose(s, why):
    """The session is gone: rejoin, and rescan when that did not help."""
    s._lost += 1
    s._req = 0
    rescan = s._lost >= 2
    s.counters["rescans" if rescan else "rejoins"] += 1
    log.warning("%s: %s", why, "scanning again" if rescan else "joining again")
    s._task = s._connect(False, rescan)
    s._state("join", "Joining", 0)


def restart(s, why):
    """Set the module up again, then join (the cached PAN first)."""
    log.warning("%s: starting again", why)
    s._req = 0
    s.counters["rejoins"] += 1
    s._task = s._connect(True, False)
    s._state("start", "Starting", 0)


# holds: EVENT 29 (re-authentication), EVENT 32 (transmit limit)
def _hold(s, state, status, ms):
    s._state(state, status, 100)
    s._hold_until = ticks_add(s._now, ms)


def _resume(s):
    s._state("ready", "Connected", 100)
    if s._req:
        s._resend = True


def hold_over(s):
    """The hold's deadline passed without EVENT 25 / EVENT 33."""
    if s.state == "reauth":
        lose(s, "no EVENT 25 after EVENT 29")
    else:
        _resume(s)  # EVENT 33 missed: try again


def close(s, deadline_ms, idle):
    """Session.close(): SKTERM, then poll until EVENT 27/28, a FAIL or the deadline."""
    if idle is None:
        import time

        idle = getattr(time, "sleep_ms", None) or (lambda ms: time.sleep(ms / 1000))
    connected = s._ip is not None and s._task is None
    s._end_task()
    s._req = 0
    if connected:
        s._closing = True
        s.state = "closing"
        s._resp = None
        s._uart.write(b"SKTERM\r\n")
        s._cmd_until = ticks_add(s._clock(), deadline_ms)
        end = s._cmd_until
        while not s._closed:
            s.poll()
            r = s._resp
            if r is not None and r[0] == sk.FAIL:
                break
            left = ticks_diff(end, s._clock())
            if left <= 0:
                break
            idle(min(left, 20))
    s.state = "closed"
    s.status = "Closed"
    return s._closed


def refused(s, epc):
    """Get_SNA for epc: ask the rest from now on."""
    epcs = s._read_epcs
    if epc in epcs and len(epcs) > 1:
        epcs.remove(epc)
        s._read_frame = echonet.build_get(0, epcs)
        log.info("meter refuses EPC %02X: no longer asked", epc)
        if epc == 0xE3 and 0xE4 in s._hist_epcs:
            s._hist_epcs.remove(0xE4)
            s.period_reverse_kwh = None


def _info(s, f):
    s._info_ok = True
    for epc, edt in f.props:
        try:
            v = meter.decode(epc, edt) if edt else None
            if epc == 0xD3:
                s._coef = 1 if v is None else v
            elif epc == 0xE1:
                s._unit = 1.0 if v is None else v
            elif epc == 0xD7:
                s._digits = v
        except ValueError:
            log.warning("bad EPC %02X in the meter's answer", epc)
    log.info("meter: coefficient %d, unit %s kWh, %s digits", s._coef, s._unit, s._digits)
    s._kwh()


def _failed(s, retry_ms):
    if s._hist_for == _BASE:
        s._base_retry = ticks_add(s._now, retry_ms)


def _history(s, f):
    normal = reverse = None
    for epc, edt in f.props:
        if not edt:
            if epc == 0xE4 and epc in s._hist_epcs:
                log.info("meter refuses E4: no reverse baseline")
                s._hist_epcs.remove(epc)
                s.period_reverse_kwh = None
            continue
        try:
            v = meter.decode(epc, edt)  # type: tuple  # pyright: ignore[reportAssignmentType]
        except ValueError:
            continue
        if v[0] != s._hist_day:
            log.warning("history for day %d, asked for %d", v[0], s._hist_day)
            _failed(s, _BASE_RETRY_MS)
            return
        if epc == 0xE2:
            normal = v[1]
        elif epc == 0xE4:
            reverse = v[1]
    if normal is None:
        _failed(s, 3600000)
        return
    if s._hist_for == _TODAY:
        _today(s, normal)
        return
    if normal[0] is None:
        _failed(s, _BASE_RETRY_MS)  # 00:00 not recorded yet
        return
    y, m, d, sy, sm, sd = s._hist_date
    s._base = [sy, sm, sd, normal[0], reverse[0] if reverse else None, y, m, d]
    s._store.set("baseline", s._base)
    s._store.save()
    s.baseline = (sy, sm, sd)
    log.info("baseline for the period from %d-%02d-%02d held", sy, sm, sd)
    s._kwh()


def _today(s, raw):
    usage = [None] * 48
    r = s.reading
    digits = s._digits
    wrap = 10**digits if digits else 0
    for i in range(48):
        a = raw[i]
        if a is None:
            break
        b = raw[i + 1] if i < 47 else None
        if b is None:  # the half hour in progress: up to the latest reading
            b = r.cumulative_raw if r is not None else None
            if b is None:
                break
            d = b - a
            if wrap:
                d %= wrap
            if wrap and d * 2 > wrap or not wrap and d < 0:
                break  # the reading predates the slot
        kwh = meter.delta_kwh(b, a, digits, s._coef, s._unit)
        if kwh is None:
            break
        usage[i] = round(kwh * 1000)  # Wh: a small int, no heap
    w = s._wall() if s._wall is not None else None
    if w is None:
        s.today = (None, None, None, usage)
    else:
        y, m, d, _, _, _ = billing.local_date(w, s._utc)
        s.today = (y, m, d, usage)
