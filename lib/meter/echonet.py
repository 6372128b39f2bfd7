"""ECHONET Lite frames: build requests, parse anything the meter sends.

Frame layout: EHD1=0x10 EHD2=0x81 TID(2) SEOJ(3) DEOJ(3) ESV OPC
{EPC PDC EDT(PDC)} x OPC. CodecError (a ValueError) is the one error
type of the codec (echonet, meter, sk).
"""

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


class CodecError(ValueError):
    """Malformed frame, property or module line."""


EOJ_CONTROLLER = b"\x05\xff\x01"
EOJ_METER = b"\x02\x88\x01"
EOJ_NODE_PROFILE = b"\x0e\xf0\x01"

ESV_SETI = const(0x60)
ESV_SETC = const(0x61)
ESV_GET = const(0x62)
ESV_INF_REQ = const(0x63)
ESV_SETGET = const(0x6E)
ESV_SET_RES = const(0x71)
ESV_GET_RES = const(0x72)
ESV_INF = const(0x73)
ESV_INFC = const(0x74)
ESV_INFC_RES = const(0x7A)
ESV_SETGET_RES = const(0x7E)
ESV_SETI_SNA = const(0x50)
ESV_SETC_SNA = const(0x51)
ESV_GET_SNA = const(0x52)
ESV_INF_SNA = const(0x53)
ESV_SETGET_SNA = const(0x5E)

_HEADER = const(12)  # EHD1 EHD2 TID SEOJ DEOJ ESV OPC
_NONE = (0, b"")


class Frame:
    """A parsed frame: tid int, seoj/deoj 3 bytes, esv int, props [(epc, edt)].

    The header fields are read from the frame's bytes on access (fewer
    allocations per frame on the device; one __getattr__ costs less heap
    than four properties).
    """

    def __init__(self, data, props):
        self._data = data
        self.props = props

    def __getattr__(self, name):
        """tid, seoj, deoj, esv: read from the frame's bytes."""
        if name == "tid":
            d = self._data
            return (d[2] << 8) | d[3]
        if name == "esv":
            return self._data[10]
        if name == "seoj":
            return _eoj_at(self._data, 4)
        if name == "deoj":
            return _eoj_at(self._data, 7)
        raise AttributeError(name)

    def get(self, epc):
        """EDT of epc: bytes, b"" when refused (PDC 0), None when absent."""
        for e, edt in self.props:
            if e == epc:
                return edt
        return None

    def __repr__(self):
        return "Frame(tid=%d, %s->%s, esv=%02X, %s)" % (
            self.tid,
            self.seoj.hex(),
            self.deoj.hex(),
            self.esv,
            ["%02X:%s" % (e, d.hex()) for e, d in self.props],
        )


def _put(buf, tid, seoj, deoj, esv, opc):
    buf[0] = 0x10
    buf[1] = 0x81
    buf[2] = (tid >> 8) & 0xFF
    buf[3] = tid & 0xFF
    buf[4:7] = seoj
    buf[7:10] = deoj
    buf[10] = esv
    buf[11] = opc


def _eoj(eoj):
    if len(eoj) != 3:
        raise CodecError("EOJ must be 3 bytes")
    return eoj


def build(tid, esv, props, deoj=EOJ_METER, seoj=EOJ_CONTROLLER):
    """Any frame; props: list of (epc, edt bytes). tid is taken mod 65536."""
    n = _HEADER
    for _, edt in props:
        if len(edt) > 255:
            raise CodecError("EDT longer than 255 bytes")
        n += 2 + len(edt)
    if len(props) > 255:
        raise CodecError("more than 255 properties")
    buf = bytearray(n)
    _put(buf, tid, _eoj(seoj), _eoj(deoj), esv, len(props))
    i = _HEADER
    for epc, edt in props:
        buf[i] = epc
        buf[i + 1] = len(edt)
        buf[i + 2 : i + 2 + len(edt)] = edt
        i += 2 + len(edt)
    return bytes(buf)


def _no_data(tid, esv, epcs, deoj, seoj):
    # a frame whose properties all have PDC 0 (Get, INFC_Res)
    opc = len(epcs)
    if not 0 < opc < 256:
        raise CodecError("need 1-255 EPCs")
    buf = bytearray(_HEADER + 2 * opc)
    _put(buf, tid, _eoj(seoj), _eoj(deoj), esv, opc)
    for k in range(opc):
        buf[_HEADER + 2 * k] = epcs[k]
    return bytes(buf)


def build_get(tid, epcs, deoj=EOJ_METER, seoj=EOJ_CONTROLLER):
    """Get (0x62) for one or several EPCs (bytes or list of ints)."""
    return _no_data(tid, ESV_GET, epcs, deoj, seoj)


def build_setc(tid, props, deoj=EOJ_METER, seoj=EOJ_CONTROLLER):
    """SetC (0x61); props: list of (epc, edt bytes), e.g. [(0xE5, b"\\x00")]."""
    return build(tid, ESV_SETC, props, deoj, seoj)


def build_infc_res(tid, deoj, epcs, seoj=EOJ_CONTROLLER):
    """INFC_Res (0x7A) answering an INFC from deoj: echoes the EPCs with PDC 0."""
    return _no_data(tid, ESV_INFC_RES, epcs, deoj, seoj)


def _eoj_at(data, i):
    # the usual EOJs are shared constants: no allocation per frame
    a, b, c = data[i], data[i + 1], data[i + 2]
    if c == 1:
        if a == 0x02 and b == 0x88:
            return EOJ_METER
        if a == 0x05 and b == 0xFF:
            return EOJ_CONTROLLER
        if a == 0x0E and b == 0xF0:
            return EOJ_NODE_PROFILE
    return data[i : i + 3]


def parse(data):
    """Frame from bytes/bytearray/memoryview; CodecError on anything malformed."""
    if not isinstance(data, bytes):
        data = bytes(data)
    n = len(data)
    if n < _HEADER:
        raise CodecError("short frame (%d bytes)" % n)
    if data[0] != 0x10 or data[1] != 0x81:
        raise CodecError("not an ECHONET Lite frame")
    opc = data[11]
    props: list = [_NONE] * opc  # one allocation, filled below
    i = _HEADER
    for k in range(opc):
        if i + 2 > n:
            raise CodecError("OPC past the end")
        end = i + 2 + data[i + 1]
        if end > n:
            raise CodecError("PDC past the end")
        props[k] = (data[i], data[i + 2 : end])
        i = end
    if i != n:
        raise CodecError("%d trailing bytes" % (n - i))
    return Frame(data, props)
