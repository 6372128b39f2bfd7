"""SK lines and the LineReader on CPython: generated ERXUDP lines in every form, transcripts, chunking."""

from hypothesis import given
from hypothesis import strategies as st
from link import sk

# the kinds of sk.parse_line: plain numbers (lib/link/sk.py docstring)
OK, FAIL, EVER, ESREG, IPV6, EVENT, EPANDESC, FIELD, EPONG, ERXUDP, ECHO, UNKNOWN = range(12)

IP = "FE80:0000:0000:0000:021C:6400:03DD:6393"
ME = "FE80:0000:0000:0000:021D:1290:0003:A4F1"

# seed 002 (hex mode, echo on), addresses filled in with real-looking values
TRANSCRIPT_002 = """SKVER
EVER 1.2.10
OK
SKSETPWD C ABCDEFGHIJKL
OK
SKSCAN 2 FFFFFFFF 5
OK
EVENT 20 {ip}
EPANDESC
  Channel:39
  Channel Page:09
  Pan ID:8A2B
  Addr:001C640003DD6393
  LQI:95
  PairID:00A12345
EVENT 22 {ip}
SKSREG S2 39
OK
SKLL64 001C640003DD6393
{ip}
SKJOIN {ip}
OK
EVENT 21 {ip} 00
EVENT 25 {ip}
SKSENDTO 1 {ip} 0E1A 1 000E
EVENT 21 {ip} 00
OK
ERXUDP {ip} {me} 0E1A 0E1A 001C640003DD6393 1 0012 1081000102880105FF017201E704000002AE
""".format(ip=IP, me=ME)

KINDS_002 = [
    ECHO, EVER, OK, ECHO, OK, ECHO, OK, EVENT, EPANDESC,
    FIELD, FIELD, FIELD, FIELD, FIELD, FIELD, EVENT, ECHO, OK,
    ECHO, IPV6, ECHO, OK, EVENT, EVENT, ECHO, EVENT, OK, ERXUDP,
]  # fmt: skip


def test_transcript_002_classifies_every_line():
    r = sk.LineReader()
    r.feed(TRANSCRIPT_002.replace("\n", "\r\n").encode())
    lines = []
    while (line := r.next_line()) is not None:
        lines.append(sk.parse_line(line))
    assert [x[0] for x in lines] == KINDS_002
    assert lines[-1][1].data.hex().upper() == "1081000102880105FF017201E704000002AE"
    assert all("ABCDEFGHIJKL" not in repr(x) for x in lines)


def erxudp_line(form, binary, data, rport=0x0E1A, secured=1, side=0, rssi=-70):
    small = {
        9: "%d" % secured,
        10: "%d %d" % (secured, side),
        11: "%02X %d %d" % (rssi & 0xFF, secured, side),
    }
    head = "ERXUDP %s %s %04X 0E1A 001C640003DD6393 %s %04X " % (IP, ME, rport, small[form], len(data))
    return head.encode() + (data if binary else data.hex().upper().encode())


@given(
    st.sampled_from([9, 10, 11]),
    st.booleans(),
    st.binary(max_size=300),
    st.integers(0, 0xFFFF),
    st.integers(0, 1),
    st.integers(0, 1),
    st.integers(-128, -1),
)
def test_generated_erxudp_lines_parse_back(form, binary, data, rport, secured, side, rssi):
    line = erxudp_line(form, binary, data, rport, secured, side, rssi)
    kind, e = sk.parse_line(line)
    assert kind == ERXUDP
    assert e.data == data and e.rport == rport and e.lport == 0x0E1A and e.secured == secured
    assert e.side == (None if form == 9 else side)
    assert e.rssi == (rssi if form == 11 else None)
    assert (e.sender, e.dest, e.sender_lla) == (IP, ME, "001C640003DD6393")


OTHER_LINES = [
    b"OK",
    b"OK 00",
    b"FAIL ER10",
    ("EVENT 21 %s 00" % IP).encode(),
    ("EVENT 25 %s 0" % IP).encode(),
    ("EPONG %s" % IP).encode(),
    b"EPANDESC",
    b"  LQI:84",
]


@given(
    st.lists(
        st.one_of(
            st.sampled_from(OTHER_LINES),
            st.builds(erxudp_line, st.sampled_from([9, 10, 11]), st.just(True), st.binary(max_size=200)),
        ),
        max_size=12,
    ),
    st.lists(st.integers(1, 97), min_size=1, max_size=40),
)
def test_reader_returns_the_same_lines_for_any_chunking(lines, cuts):
    stream = b"".join(x + b"\r\n" for x in lines)
    r = sk.LineReader()
    r.binary = True
    got = []
    i = k = 0
    while i < len(stream):
        n = cuts[k % len(cuts)]
        k += 1
        r.feed(memoryview(stream)[i : i + n])
        i += n
        while (line := r.next_line()) is not None:
            got.append(line)
    assert got == lines
    assert r.dropped == 0 and len(r) == 0


def test_reader_hands_out_independent_line_objects():
    r = sk.LineReader(32)
    r.feed(b"OK\r\n")
    first = r.next_line()
    for _ in range(20):
        r.feed(b"FAIL ER04\r\n")
        assert r.next_line() == b"FAIL ER04"
    assert first == b"OK"


def test_reader_header_then_long_pause_then_data():
    data = b"\x10\x81\r\n \x00"
    line = erxudp_line(9, True, data)
    r = sk.LineReader()
    r.binary = True
    head, tail = line[: -len(data)], line[-len(data) :]
    r.feed(head[:50])
    assert r.next_line() is None
    r.feed(head[50:])
    assert r.next_line() is None
    r.feed(tail[:3])
    assert r.next_line() is None
    r.feed(tail[3:] + b"\r\n")
    assert r.next_line() == line
    assert r.next_line() is None
