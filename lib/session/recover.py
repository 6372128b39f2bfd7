"""The session's seldom work, as plain functions on the values handed in.

What a PANA event means, D3/E1/D7 answers, refused EPCs, EA/EB pushes and
the text of a line for the debug log. The session loads this module for
one call (lib/lazy.py) and drops it again, so its bytecode is in the
device's heap only while such a (few times a day) thing is handled; the
steady request/answer cycle never loads it. Nothing here keeps state.
"""

import binascii

import lazy
import log
import meter
from link import sk


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


def event(num, state, closing):
    """What EVENT num (0: the hold's deadline passed) means in this state.

    None, or (what, why) as Session._act takes it: 1 the session is lost (why says why), 2 hold
    for re-authentication, 3 hold for the transmit limit, 4 resume after the transmit limit, 5
    resume after re-authentication, 6 the session was closed (close(); why: confirmed).
    """
    live = state in ("ready", "quiet", "reauth", "paused")
    if num == 0:
        if state == "reauth":
            return 1, "no EVENT 25 after EVENT 29"
        return 4, None  # EVENT 33 missed: try again
    if num == 0x25:
        if state == "reauth":
            log.info("re-authenticated")
            return 5, None
    elif num == 0x24:
        if live:
            return 1, "PANA authentication failed (EVENT 24)"
    elif num == 0x29:
        if live and state != "reauth":
            log.info("PANA session expired (EVENT 29): holding requests")
            return 2, None
    elif 0x26 <= num <= 0x28:
        if closing:
            return 6, True
        if live:
            return 1, "session ended (EVENT %X)" % num
    elif num == 0x32:
        if state == "ready" or state == "quiet":
            log.warning("radio transmit limit (EVENT 32): paused")
            return 3, None
    elif num == 0x33:
        if state == "paused":
            log.info("transmit limit released (EVENT 33)")
            return 4, None
    return None


def failed(ping, code, state):
    """SKPING (ping) or SKTERM answered FAIL code: what it means (see event())."""
    if not ping:
        return 6, False  # SKTERM: there was no session to end
    if code == "ER10" and (state == "ready" or state == "quiet"):
        return 1, "Meter not answering"  # the module has no session
    return 8, None  # SKPING unsupported: no evidence either way


def infc_res(f):
    """The INFC_Res owed for an INFC frame f: its EPCs echoed."""
    return lazy.call("meter.frames", "build_get", f.tid, [p[0] for p in f.props], f.seoj, 0x7A)


def close(s, deadline_ms, idle):
    """Poll session s while it is closing (until EVENT 27/28, a FAIL, or deadline_ms of idle)."""
    if idle is None:
        import time

        idle = getattr(time, "sleep_ms", None) or (lambda ms: time.sleep(ms / 1000))
    left = deadline_ms
    while s.state == "closing" and left > 0:
        s.poll()
        ms = min(left, 20)
        idle(ms)
        left -= ms


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
