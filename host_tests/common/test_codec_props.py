"""Properties of the ECHONET Lite frame codec, the meter properties and the SK line parser, checked on
seeded random input (testkit.Rand: the same cases on CPython and MicroPython) against oracles written
here, not taken from lib/. Random and mutated input never raises anything but CodecError.

Plain asserts: run by pytest and by tools/mptest.py (`make test-mp`, `make test-mp32`).
host_tests/test_codec_fuzz.py searches further with hypothesis on CPython.
"""

import binascii
import struct

import meter
from link import sk
from meter import echonet, frames
from meter.echonet import CodecError
from testkit import Rand, raises

# the kinds of sk.parse_line: plain numbers (lib/link/sk.py docstring)
OK, FAIL, EVER, ESREG, IPV6, EVENT, EPANDESC, FIELD, EPONG, ERXUDP, ECHO, UNKNOWN = range(12)
# ECHONET Lite ESVs (lib/meter/echonet.py docstring)
ESV_GET = 0x62
ESV_INFC_RES = 0x7A

FLOAT32 = 16777217.0 == 16777216.0
N = 150  # random cases per property

IP = "FE80:0000:0000:0000:021C:6400:03DD:6393"
FRAME = binascii.unhexlify("1081000102880105FF017202E704FFFFFB50E8040064FFD3")
FRAME_HEX = binascii.hexlify(FRAME).decode().upper()
SEED_LINES = [
    b"OK",
    b"OK 01",
    b"FAIL ER04",
    b"EVER 1.2.10",
    b"ESREG 0",
    IP.encode(),
    ("EVENT 21 %s 0 00" % IP).encode(),
    b"EPANDESC",
    b"  Pan ID:A0E6",
    ("EPONG %s" % IP).encode(),
    b"SKSENDTO 1 " + IP.encode() + b" 0E1A 1 000E",
    ("ERXUDP %s %s 0E1A 0E1A 001C640003DD6393 1 0 0018 %s" % (IP, IP, FRAME_HEX)).encode(),
    ("ERXUDP %s %s 0E1A 0E1A 001C640003DD6393 C4 1 0 0018 " % (IP, IP)).encode() + FRAME,
]
# the lengths lib/meter decodes for each EPC it knows (ECHONET Lite Appendix, low-voltage smart meter)
GOOD_LEN = {0xD3: 4, 0xD5: 4, 0xD7: 1, 0xE0: 4, 0xE1: 1, 0xE2: 194, 0xE3: 4, 0xE4: 194, 0xE5: 1, 0xE7: 4}
GOOD_LEN.update({0xE8: 4, 0xEA: 11, 0xEB: 11})


def _s(v, bits):
    """Two's complement of an unsigned int (MicroPython's int.from_bytes ignores signed)."""
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def _edge4(r):
    """4-byte EDTs: the sentinels, the sign edges, then random ones."""
    fixed = [0x7FFFFFFE, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF, 0, 1, 0x7FFD, 0x8000FFFF]
    for v in fixed:
        yield struct.pack(">I", v)
    for _ in range(N):
        yield r.bytes(4)


def codec_only(fn, *args):
    try:
        return fn(*args)
    except CodecError:
        return None


def mutate(data, r, n):
    """data with n random edits: replace, insert or delete one byte."""
    b = list(data)
    for _ in range(n):
        op = r.below(3)
        i = r.below(len(b) + 1)
        if op == 1:
            b.insert(i, r.bits(8))
        elif i < len(b):
            if op == 0:
                b[i] = r.bits(8)
            else:
                del b[i]
    return bytes(b)


# ---- echonet -------------------------------------------------------------------------------------


def test_build_parse_round_trip():
    r = Rand(1)
    for _ in range(N):
        tid, esv = r.below(0x10000), r.bits(8)
        props = [(r.bits(8), r.bytes(r.below(41))) for _ in range(r.below(9))]
        deoj, seoj = r.bytes(3), r.bytes(3)
        f = echonet.parse(frames.build(tid, esv, props, deoj, seoj))
        assert (f.tid, f.esv, f.seoj, f.deoj, f.props) == (tid, esv, seoj, deoj, props)
        for epc, _ in props:
            first = [e for p, e in props if p == epc][0]
            assert f.get(epc) == first


def test_build_get_is_get_with_empty_edts():
    r = Rand(2)
    for _ in range(N):
        tid = r.below(0x10000)
        epcs = [r.bits(8) for _ in range(1 + r.below(20))]
        f = echonet.parse(frames.build_get(tid, epcs))
        assert f.esv == ESV_GET and f.tid == tid
        assert f.seoj == echonet.EOJ_CONTROLLER and f.deoj == echonet.EOJ_METER
        assert f.props == [(e, b"") for e in epcs]
        assert frames.build_get(tid, bytes(epcs)) == frames.build_get(tid, epcs)


def test_every_truncation_of_a_frame_is_rejected():
    r = Rand(3)
    for _ in range(20):
        payload = r.bytes(12 + r.below(49))
        frame = frames.build(1, 0x72, [(0xE7, payload[:4]), (0xE8, payload[4:8])])
        for k in range(len(frame)):
            assert raises(CodecError, echonet.parse, frame[:k])
        assert raises(CodecError, echonet.parse, frame + payload[:1])


def test_builders_reject_impossible_frames():
    for fn, args in (
        (frames.build_get, (1, [])),
        (frames.build_get, (1, list(range(256)))),
        (frames.build, (1, 0x61, [(0xE5, b"x" * 256)])),
        (frames.build_get, (1, [0xE7], b"\x02\x88")),
        (frames.build_get, (1, [0xEA], b"\x02\x88\x01\x00", 0x7A)),
    ):
        assert raises(CodecError, fn, *args)


def test_codec_error_is_a_value_error():
    assert issubclass(CodecError, ValueError)
    assert raises(ValueError, echonet.parse, b"\x10\x81")


def test_frame_repr_names_the_parts():
    f = echonet.parse(binascii.unhexlify("1081000102880105FF017201E704000002AE"))
    assert repr(f) == "Frame(tid=1, 028801->05ff01, esv=72, ['E7:000002ae'])"


def test_infc_res_answers_an_infc():
    # INFC from the meter (EA pushed at :00/:30) -> INFC_Res with the same TID and EPC, PDC 0
    infc = echonet.parse(binascii.unhexlify("10810042028801" + "05FF017401EA0B07E80B160A1E0000012345"))
    res = frames.build_get(infc.tid, [e for e, _ in infc.props], infc.seoj, 0x7A)  # INFC_Res
    f = echonet.parse(res)
    assert f.tid == 0x42 and f.esv == ESV_INFC_RES
    assert f.deoj == echonet.EOJ_METER and f.props == [(0xEA, b"")]


# ---- meter properties ----------------------------------------------------------------------------


def test_e7_is_int32_with_sentinels():
    for edt in _edge4(Rand(4)):
        v = _s(struct.unpack(">I", edt)[0], 32)
        expect = None if v in (0x7FFFFFFE, 0x7FFFFFFF, -0x80000000) else v
        assert meter.decode(0xE7, edt) == expect, edt


def test_e8_is_two_int16_in_deciamps():
    def one(v):
        return None if v in (0x7FFE, 0x7FFF, -0x8000) else v

    for edt in _edge4(Rand(5)):
        r, t = struct.unpack(">hh", edt)
        assert meter.decode(0xE8, edt) == (one(r), one(t)), edt
        assert meter.decode(0xE8, edt[:2]) == (one(r), None), edt


def test_cumulative_is_uint32():
    for edt in _edge4(Rand(6)):
        v = struct.unpack(">I", edt)[0]
        assert meter.decode(0xE0, edt) == (None if v == 0xFFFFFFFE else v), edt
        assert meter.decode(0xD3, edt) == v


def test_every_known_epc_rejects_wrong_lengths():
    for epc in sorted(GOOD_LEN):
        n = GOOD_LEN[epc]
        edt = b"\x01" + b"\x00" * (n - 1)
        meter.decode(epc, edt)
        lengths = [0, n - 1, n + 1, n + 3] if epc != 0xE8 else [0, 1, 3, 5]
        for k in lengths:
            assert raises(CodecError, meter.decode, epc, (edt * 2)[:k]), (epc, k)


def test_delta_is_the_wrapped_integer_difference():
    r = Rand(7)
    rel = 1e-6 if FLOAT32 else 1e-12
    for _ in range(N):
        digits = 1 + r.below(8)
        mod = 10**digits
        now, then = r.below(100000000) % mod, r.below(100000000) % mod
        coefficient = r.choice([None, 1, 10, 100])
        code = r.choice([0, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D])
        counts = ((now - then) % mod) * (coefficient or 1)
        # kWh per count for E1 codes 0-4 is 10**-code, for 0x0A-0x0D 10**(code - 9)
        shift = -code if code < 10 else code - 9
        got = meter.delta_kwh(now, then, digits, coefficient, meter.unit_kwh(code))
        want = counts * 10**shift if shift >= 0 else counts / 10 ** (-shift)
        assert got >= 0 and abs(got - want) <= rel * want, (now, then, digits, coefficient, code, got)


def test_to_kwh_and_delta_agree():
    unit = meter.unit_kwh(1)
    a, b = meter.to_kwh(123456, 1, unit), meter.to_kwh(120000, 1, unit)
    assert a == 12345.6 and b == 12000.0
    assert meter.delta_kwh(123456, 120000, 6, 1, unit) == 345.6  # 3,456 counts x 0.1 kWh


# ---- random and mutated input: CodecError or an answer, nothing else -----------------------------


def test_parse_random_bytes():
    r = Rand(8)
    for _ in range(N):
        data = r.bytes(r.below(301))
        f = codec_only(echonet.parse, data)
        if f is not None:
            assert frames.build(f.tid, f.esv, f.props, f.deoj, f.seoj) == data


def test_parse_and_decode_mutated_frames():
    r = Rand(9)
    for _ in range(N):
        f = codec_only(echonet.parse, mutate(FRAME, r, 1 + r.below(6)))
        if f is not None:
            for epc, edt in f.props:
                codec_only(meter.decode, epc, edt)


def test_decode_random_edt():
    r = Rand(10)
    epcs = sorted(GOOD_LEN)
    for _ in range(N):
        epc = r.choice(epcs) if r.below(2) else r.bits(8)
        codec_only(meter.decode, epc, r.bytes(r.below(201)))


def test_parse_line_random_and_mutated():
    r = Rand(11)
    for _ in range(N):
        got = codec_only(sk.parse_line, r.bytes(r.below(201)))
        assert got is None or isinstance(got, tuple) and 0 <= got[0] <= UNKNOWN
        codec_only(sk.parse_line, mutate(r.choice(SEED_LINES), r, 1 + r.below(6)))
        soup = "ERXUDPVNTOKFAIL 0123456789ABCDEF:\r\n"
        codec_only(sk.parse_line, "".join(r.choice(soup) for _ in range(r.below(201))).encode())


def test_line_reader_never_raises_and_never_stalls():
    r = Rand(12)
    framed = [x + b"\r\n" for x in SEED_LINES]
    for _ in range(40):
        size = 16 + r.below(385)
        reader = sk.LineReader(size)
        total = 0
        for _ in range(r.below(12)):
            chunk = r.choice(framed) if r.below(2) else r.bytes(r.below(81))
            reader.feed(chunk)
            total += len(chunk)
            while True:
                line = reader.next_line()
                if line is None:
                    break
                assert isinstance(line, bytes) and len(line) <= size
                codec_only(sk.parse_line, line)
        assert len(reader) <= total
        assert len(reader) <= size  # drained: nothing is stuck behind a full buffer
