"""The session's seldom work: its rare state changes and rare answers.

A PANA event or a refused SKPING/SKTERM carried out (hold, resume, lost,
closed), the start of the steady state after a join, close(), D3/E1/D7
answers, refused EPCs, EA/EB pushes and the text of a line for the debug
log. The session loads this module for one call (lib/lazy.py) and drops it
again, so its bytecode is in the device's heap only while such a (few
times a day) thing is handled; the steady request/answer cycle never loads
it. Nothing here keeps state: it changes the session through its public
attributes (state, status, error, counters, ip, lost, closing, quiet,
resend, hold_until, heard, alarm, echo_off, known, next_read, base_next,
wake, infc) and set_state(); a new join is asked for by returning
(setup, rescan), which the session starts itself.
"""

import binascii

import lazy
import log
import meter
from link import sk
from ticks import ticks_add

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_SILENT_MS = const(1800000)  # no answer this long: the session counts as lost (as in session)
_REAUTH_MS = const(60000)  # EVENT 29 -> EVENT 25 at the latest
_PAUSE_MS = const(3900000)  # EVENT 32 -> EVENT 33 at the latest (the limit is per hour)


def info(props):
    """(coefficient, kWh per unit, digits) from a D3/E1/D7 answer (D3 refused: 1; E1 refused: 1.0)."""
    coef = 1
    unit = 1.0
    digits = None
    for epc, edt in props:
        try:
            v = meter.decode(epc, edt) if edt else None
            if epc == 0xD3:
                coef = 1 if v is None else v
            elif epc == 0xE1:
                unit = 1.0 if v is None else v
            elif epc == 0xD7:
                digits = v
        except ValueError:
            log.warning("bad EPC %02X in the meter's answer", epc)
    log.info("meter: coefficient %d, unit %s kWh, %s digits", coef, unit, digits)
    return coef, unit, digits


def refused(epc, read_epcs, hist_epcs):
    """Get_SNA for epc in a reading: drop it from read_epcs (E3 takes E4 out of hist_epcs too).

    The lists are changed in place; the new reading frame, or None when nothing changed.
    """
    if epc not in read_epcs or len(read_epcs) < 2:
        return None
    read_epcs.remove(epc)
    log.info("meter refuses EPC %02X: no longer asked", epc)
    if epc == 0xE3 and 0xE4 in hist_epcs:
        hist_epcs.remove(0xE4)
    return lazy.call("meter.frames", "build_get", 0, read_epcs)


def pushed(s, props, scale):
    """EA/EB pushed after :00/:30 (INF/INFC): session s's fixed_normal / fixed_reverse become
    ((Y, M, D, h, m, s), kWh or None until scale, D3/E1/D7, is known)."""
    for epc, edt in props:
        if (epc == 0xEA or epc == 0xEB) and edt:
            try:
                when, raw = meter.decode(epc, edt)  # pyright: ignore[reportGeneralTypeIssues]
            except ValueError:
                continue
            v = (when, meter.to_kwh(raw, scale[0], scale[1]) if scale else None)
            if epc == 0xEA:
                s.fixed_normal = v
            else:
                s.fixed_reverse = v


def event(s, now, req, num):
    """EVENT num (0: the hold's deadline passed) in session s's state, carried out (see act())."""
    st = s.state
    live = st in ("ready", "quiet", "reauth", "paused")
    a = None
    if num == 0:
        a = (1, "no EVENT 25 after EVENT 29") if st == "reauth" else (4, None)  # EVENT 33 missed: try again
    elif num == 0x25:
        if st == "reauth":
            log.info("re-authenticated")
            a = (5, None)
    elif num == 0x24:
        if live:
            a = (1, "PANA authentication failed (EVENT 24)")
    elif num == 0x29:
        if live and st != "reauth":
            log.info("PANA session expired (EVENT 29): holding requests")
            a = (2, None)
    elif 0x26 <= num <= 0x28:
        if s.closing:
            a = (6, True)
        elif live:
            a = (1, "session ended (EVENT %X)" % num)
    elif num == 0x32:
        if st == "ready" or st == "quiet":
            log.warning("radio transmit limit (EVENT 32): paused")
            a = (3, None)
    elif num == 0x33:
        if st == "paused":
            log.info("transmit limit released (EVENT 33)")
            a = (4, None)
    return act(s, now, req, a)


def failed(s, now, req, ping, code):
    """SKPING (ping) or SKTERM answered FAIL code, carried out (see act())."""
    if not ping:
        a = (6, False)  # SKTERM: there was no session to end
    elif code == "ER10" and (s.state == "ready" or s.state == "quiet"):
        a = (1, "Meter not answering")  # the module has no session
    else:
        a = (8, None)  # SKPING unsupported: no evidence either way
    return act(s, now, req, a)


def act(s, now, req, a):
    """Carry out a on session s at now (ms ticks; req: a reading in flight). a: None or (what,
    why); what: 1 lost (why says why), 2 hold for re-authentication, 3 hold for the transmit
    limit, 4 resume after it, 5 resume after re-authentication, 6 closed (why: confirmed), 7 the
    module was reset, 8 no SKPING. (setup, rescan) when the session must join again, else None."""
    if a is None:
        return None
    k, why = a
    if k == 1 or k == 7:  # the session is lost (7: the module was reset)
        s.lost += k == 1
        rescan = k == 1 and s.lost >= 2
        s.counters["rescans" if rescan else "rejoins"] += 1
        log.warning("%s: %s", why, "scanning again" if rescan else "joining again")
        return k == 7, rescan
    if k == 2:  # nothing is sent until the hold ends
        s.set_state("reauth", "Re-authenticating", 100)
        s.hold_until = ticks_add(now, _REAUTH_MS)
    elif k == 3:
        s.set_state("paused", "Paused: radio transmit limit", 100)
        s.hold_until = ticks_add(now, _PAUSE_MS)
    elif k == 4 or k == 5:
        if k == 4:  # nothing was asked while it was paused
            s.heard = now
            s.alarm = ticks_add(now, _SILENT_MS)
        if s.quiet:
            s.set_state("quiet", "Meter not answering", 100)
        else:
            s.set_state("ready", "Connected", 100)
        if req:
            s.resend = True  # the held request goes out again (a counted try)
    elif k == 6:  # closed (EVENT 27/28, or SKTERM refused)
        s.closing = 2 if why else 0
        s.set_state("closed", "Closed")
    else:  # 8: SKPING refused: no evidence either way
        s.alarm = ticks_add(s.heard, _SILENT_MS)
    return None


def joined(s, now, task, refresh_ms):
    """The join task finished at now (ms ticks): session s's steady state starts (reading every
    refresh_ms ms); the session has taken the task's ip and dialect already."""
    s.echo_off = task.echo_off
    s.known = True
    log.info("joined: reading every %d s", refresh_ms // 1000)
    s.set_state("ready", "Connected", 100)
    s.error = None
    s.quiet = 0
    s.resend = False
    s.next_read = s.base_next = s.heard = s.wake = now
    s.alarm = ticks_add(now, _SILENT_MS)
    s.infc = []


def infc_res(f):
    """The INFC_Res owed for an INFC frame f: its EPCs echoed."""
    return lazy.call("meter.frames", "build_get", f.tid, [p[0] for p in f.props], f.seoj, 0x7A)


def close(s, joined, deadline_ms, idle):
    """Session s ends: when it was joined (its SKTERM sent), poll it until EVENT 27/28, a FAIL,
    or deadline_ms of idle(ms) calls. True when the module confirmed the end."""
    if joined:
        s.set_state("closing", s.status)
        s.closing = 1
        if idle is None:
            import time

            idle = getattr(time, "sleep_ms", None) or (lambda ms: time.sleep(ms / 1000))
        left = deadline_ms
        while s.state == "closing" and left > 0:
            s.poll()
            ms = min(left, 20)
            idle(ms)
            left -= ms
    s.set_state("closed", "Closed")
    return s.closing == 2


def text(line, n, head):
    """line[:n] for the debug log: "> " and the SKSENDTO in the tx buffer (its frame after head
    bytes), or "< " and a received line. Raw data (SKSENDTO, binary ERXUDP) becomes hex, so
    `make decode` reads the lines; a credential's echo is masked."""
    line = bytes(line[:n])
    if head:
        return "> " + _ascii(line[:head]) + binascii.hexlify(line[head:]).decode().upper()
    for w in (b"SKSETPWD", b"SKSETRBID"):
        if line.startswith(w):
            return "< " + w.decode() + " ***"
    k = len(line)
    if line.startswith(b"ERXUDP "):
        try:
            data = sk.parse_line(line)[1].data  # pyright: ignore[reportAttributeAccessIssue, reportOptionalMemberAccess]
            k -= len(data)
            if not data or line[k - 1] != 32 or line[k:] != data:
                k = len(line)  # hex already
        except ValueError:
            pass
    return "< " + _ascii(line[:k]) + binascii.hexlify(line[k:]).decode().upper()


def _ascii(b):
    return "".join(chr(c) if 32 <= c < 127 else "?" for c in b)
