"""Decode a pasted serial log: one JSON object per input line.

Usage: make decode < log.txt   (or: .venv/bin/python host/decode.py < log.txt)

Input lines: ERXUDP lines as the module prints them in hex mode (with or
without SIDE / RSSI, anywhere in the line, so '<< ' or a timestamp in front
is fine) or bare hex ECHONET Lite frames (spaces allowed). Blank lines are
skipped. Output per line:
  {"tid": 1, "seoj": "028801", "deoj": "05FF01", "esv": "72",
   "properties": [{"epc": "E7", "name": "instantaneous_power", "value": {"w": 686}}]}
or {"error": "..."}; a refused property (PDC 0) has "value": null, an EPC
the decoder does not know {"hex": "..."}. Error messages never repeat the
input line (logs may hold credentials).
"""

import binascii
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import meter  # noqa: E402
import meter_names  # noqa: E402
from link import sk  # noqa: E402
from meter import echonet  # noqa: E402

_NODE_PROFILE_EPCS = (0xD5,)


def _hex(b):
    return binascii.hexlify(b).decode().upper()


def _amps(da):
    return None if da is None else da / 10


def _json_value(epc, value):
    """The issue's JSON shape of a decoded property value."""
    if epc == 0xE7:
        return {"w": value}
    if epc == 0xE8:
        return {"r_a": _amps(value[0]), "t_a": _amps(value[1])}
    if epc in (0xE0, 0xE3):
        return {"raw": value}
    if epc == 0xE1:
        return {"kwh_per_unit": value}
    if epc == 0xD3:
        return {"coefficient": value}
    if epc == 0xD7:
        return {"digits": value}
    if epc in (0xEA, 0xEB):
        return {"time": "%04d-%02d-%02d %02d:%02d:%02d" % value[0], "raw": value[1]}
    if epc in (0xE2, 0xE4):
        return {"day": value[0], "raw": value[1]}
    if epc == 0xE5:
        return {"day": value}
    if epc == 0xD5:
        return {"instances": [_hex(eoj) for eoj in value]}
    raise AssertionError(epc)


def _known(frame):
    """EPCs this decoder understands for the frame's objects."""
    classes = (frame.seoj[:2], frame.deoj[:2])
    if echonet.EOJ_METER[:2] in classes:
        return meter_names.NAMES
    if echonet.EOJ_NODE_PROFILE[:2] in classes:
        return _NODE_PROFILE_EPCS
    return ()


def frame_json(frame):
    known = _known(frame)
    props = []
    for epc, edt in frame.props:
        name = meter_names.NAMES.get(epc) if epc in known else None
        if not edt:
            value = None
        elif name is None:
            value = {"hex": _hex(edt)}
        else:
            try:
                value = _json_value(epc, meter.decode(epc, edt))
            except echonet.CodecError as e:
                value = {"hex": _hex(edt), "error": str(e)}
        props.append({"epc": "%02X" % epc, "name": name, "value": value})
    return {
        "tid": frame.tid,
        "seoj": _hex(frame.seoj),
        "deoj": _hex(frame.deoj),
        "esv": "%02X" % frame.esv,
        "properties": props,
    }


def _frame_bytes(line):
    """The ECHONET Lite bytes of one input line (bytes, line end removed)."""
    i = line.find(b"ERXUDP ")
    if i >= 0:  # hex mode, or binary data kept raw in the log
        e = sk.parse_line(line[i:])[-1]  # (ERXUDP, Erxudp)
        if not isinstance(e, sk.Erxudp):
            raise echonet.CodecError("not an ERXUDP line")
        if e.rport != 0x0E1A and e.lport != 0x0E1A:
            raise echonet.CodecError("UDP port %04X, not ECHONET Lite (0E1A)" % e.lport)
        return e.data
    text = line.decode("ascii", "replace").strip()
    for prefix in ("<<", ">>"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    digits = "".join(text.split())
    if not digits or len(digits) % 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise echonet.CodecError("not an ERXUDP line or a hex ECHONET Lite frame")
    return binascii.unhexlify(digits)


def decode_line(line):
    """JSON object (dict) for one input line (str or bytes), None for a blank line."""
    if isinstance(line, str):
        line = line.encode("utf-8", "replace")
    if line.endswith(b"\n"):
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    if not line.strip():
        return None
    try:
        return frame_json(echonet.parse(_frame_bytes(line)))
    except echonet.CodecError as e:
        return {"error": str(e)}


def main(lines, out):
    """Decode each line of lines (bytes or str) to out; returns the exit status."""
    for line in lines:
        obj = decode_line(line)
        if obj is not None:
            out.write(json.dumps(obj) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.stdin.buffer, sys.stdout))
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(0)
