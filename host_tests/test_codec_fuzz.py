"""Property tests: random and mutated input never raises anything but CodecError."""

import meter
import meter_names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from link import sk
from meter import echonet, frames
from meter.echonet import CodecError

# the kinds of sk.parse_line: plain numbers (lib/link/sk.py docstring)
OK, FAIL, EVER, ESREG, IPV6, EVENT, EPANDESC, FIELD, EPONG, ERXUDP, ECHO, UNKNOWN = range(12)

IP = "FE80:0000:0000:0000:021C:6400:03DD:6393"
FRAME = bytes.fromhex("1081000102880105FF017202E704FFFFFB50E8040064FFD3")
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
    ("ERXUDP %s %s 0E1A 0E1A 001C640003DD6393 1 0 0018 %s" % (IP, IP, FRAME.hex().upper())).encode(),
    ("ERXUDP %s %s 0E1A 0E1A 001C640003DD6393 C4 1 0 0018 " % (IP, IP)).encode() + FRAME,
]


def mutate(data, edits):
    """Apply (position, op, byte) edits: 0 replace, 1 insert, 2 delete."""
    b = bytearray(data)
    for pos, op, val in edits:
        if not b and op != 1:
            continue
        i = pos % (len(b) + 1)
        if op == 1:
            b[i:i] = bytes([val])
        elif i < len(b):
            if op == 0:
                b[i] = val
            else:
                del b[i]
    return bytes(b)


EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 2), st.integers(0, 255)), max_size=6)


def codec_only(fn, *args):
    try:
        return fn(*args)
    except CodecError:
        return None


@given(st.binary(max_size=300))
def test_parse_random_bytes(data):
    f = codec_only(echonet.parse, data)
    if f is not None:
        assert frames.build(f.tid, f.esv, f.props, f.deoj, f.seoj) == data


@given(EDITS)
def test_parse_mutated_frames(edits):
    f = codec_only(echonet.parse, mutate(FRAME, edits))
    if f is not None:
        codec_only(meter_names.values, f)
        meter_names.refused(f)


@given(st.integers(0, 255), st.binary(max_size=200))
def test_decode_random_edt(epc, edt):
    codec_only(meter.decode, epc, edt)


@given(st.sampled_from(sorted(meter_names.NAMES)), st.integers(0, 200), st.randoms(use_true_random=False))
def test_decode_every_known_epc_any_length(epc, n, rnd):
    codec_only(meter.decode, epc, bytes(rnd.getrandbits(8) for _ in range(n)))


@given(st.binary(max_size=200))
def test_parse_line_random_bytes(line):
    r = codec_only(sk.parse_line, line)
    assert r is None or isinstance(r, tuple) and 0 <= r[0] <= UNKNOWN


@given(st.sampled_from(SEED_LINES), EDITS)
def test_parse_line_mutated_lines(line, edits):
    codec_only(sk.parse_line, mutate(line, edits))


@given(st.text(alphabet="ERXUDPVNTOKFAIL 0123456789ABCDEF:\r\n", max_size=200))
def test_parse_line_token_soup(text):
    codec_only(sk.parse_line, text.encode())


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(st.binary(max_size=80), st.sampled_from([x + b"\r\n" for x in SEED_LINES]))),
    st.booleans(),
    st.integers(16, 400),
)
def test_line_reader_never_raises(chunks, binary, size):
    r = sk.LineReader(size)
    r.binary = binary
    total = 0
    for c in chunks:
        r.feed(c)
        total += len(c)
        while (line := r.next_line()) is not None:
            assert isinstance(line, bytes) and len(line) <= size
            codec_only(sk.parse_line, line)
    assert len(r) <= total
    assert len(r) <= size  # drained: nothing is stuck waiting behind a full buffer
