"""ECHONET Lite frames built: any frame, Get requests, INFC_Res answers.

Only seldom-run code builds frames (the session's reading and D3/E1/D7
requests are constants): lib/session/recover.py and lib/session/history.py
load this module for the call (lib/lazy.py), so it is not in the device's
heap in the steady state. Frame layout and ESV codes: lib/meter/echonet.py.
"""

from meter.echonet import EOJ_CONTROLLER, EOJ_METER, CodecError


def build(tid, esv, props, deoj=EOJ_METER, seoj=EOJ_CONTROLLER):
    """Any frame; props: list of (epc, edt bytes). tid is taken mod 65536."""
    if len(seoj) != 3 or len(deoj) != 3:
        raise CodecError("EOJ must be 3 bytes")
    if len(props) > 255:
        raise CodecError("more than 255 properties")
    out = bytearray(b"\x10\x81")
    out.append((tid >> 8) & 0xFF)
    out.append(tid & 0xFF)
    out += seoj
    out += deoj
    out.append(esv)
    out.append(len(props))
    for epc, edt in props:
        if len(edt) > 255:
            raise CodecError("EDT longer than 255 bytes")
        out.append(epc)
        out.append(len(edt))
        out += edt
    return bytes(out)


def build_get(tid, epcs, deoj=EOJ_METER, esv=0x62):
    """Get (0x62) for one or several EPCs (bytes or list of ints); with esv 0x7A the INFC_Res
    that answers an INFC from deoj (its EPCs echoed with PDC 0)."""
    if not 0 < len(epcs) < 256:
        raise CodecError("need 1-255 EPCs")
    return build(tid, esv, [(e, b"") for e in epcs], deoj)
