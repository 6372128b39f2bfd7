"""ECHONET Lite frames: parse anything the meter sends (lib/meter/frames.py builds them).

Frame layout: EHD1=0x10 EHD2=0x81 TID(2) SEOJ(3) DEOJ(3) ESV OPC
{EPC PDC EDT(PDC)} x OPC. CodecError (a ValueError) is the one error
type of the codec (echonet, meter, sk).

ESV codes (ECHONET Lite specification, part II; users keep their own const()s,
so no name costs heap here): requests 0x60 SetI, 0x61 SetC, 0x62 Get,
0x63 INF_REQ, 0x6E SetGet; answers 0x71 Set_Res, 0x72 Get_Res, 0x73 INF,
0x74 INFC, 0x7A INFC_Res, 0x7E SetGet_Res; refusals (SNA) 0x50 SetI_SNA,
0x51 SetC_SNA, 0x52 Get_SNA, 0x53 INF_SNA, 0x5E SetGet_SNA.
"""

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


class CodecError(ValueError):
    """Malformed frame, property or module line."""


EOJ_CONTROLLER = b"\x05\xff\x01"  # this device
EOJ_METER = b"\x02\x88\x01"  # the low-voltage smart electric energy meter
EOJ_NODE_PROFILE = b"\x0e\xf0\x01"

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
