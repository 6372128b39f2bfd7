"""ERXUDP lines tell hex from binary by themselves (no ROPT guess): the LineReader reads raw data by
its length whatever it holds: CR, LF, spaces, bytes that look like hex digits (plain asserts;
pytest and tools/mptest.py run them)."""

import binascii

from link import sk

# the kinds of sk.parse_line: plain numbers (lib/link/sk.py docstring)
OK, FAIL, EVER, ESREG, IPV6, EVENT, EPANDESC, FIELD, EPONG, ERXUDP, ECHO, UNKNOWN = range(12)

IP = "FE80:0000:0000:0000:021C:6400:03DD:6393"
ME = "FE80:0000:0000:0000:021D:1290:0003:A4F1"
HEADS = (
    "ERXUDP %s %s 0E1A 0E1A 001C640003DD6393 1 " % (IP, ME),  # BP35A1
    "ERXUDP %s %s 0E1A 0E1A 001C640003DD6393 1 0 " % (IP, ME),  # BP35C0: SIDE
    "ERXUDP %s %s 0E1A 0E1A 001C640003DD6393 B4 1 0 " % (IP, ME),  # BP35C0, SA2=1: RSSI too
)
PAYLOADS = (
    b"\r\n",
    b"AB\r\nCD",
    b"0\n",
    b"1081",
    b"\r",
    b"\n\n\n",
    b"0123456789ABCDEF",
    b" \r\n ",
    b"\x10\x81\x0d\x0a\x02\x88\x01\x05\xff\x01\x72\x01\xe7\x04\x00\x00\x0d\x0a",
    b"OK\r\nEVENT 21 " + IP.encode() + b" 00\r\n",
    bytes(range(256)),
)


def binary(head, data):
    return (head + "%04X " % len(data)).encode() + data


def hexed(head, data):
    return (head + "%04X " % len(data)).encode() + binascii.hexlify(data).upper()


def drain(r):
    out = []
    while True:
        line = r.next_line()
        if line is None:
            return out
        out.append(line)


def _feed(r, text, step):
    got = []
    for k in range(0, len(text), step):
        r.feed(text[k : k + step])
        got += drain(r)
    return got


def test_binary_and_hex_erxudp_in_one_stream_with_no_mode_set():
    for head in HEADS:
        for data in PAYLOADS:
            b = binary(head, data)
            h = hexed(head, data)
            text = b"EVENT 21 " + IP.encode() + b" 00\r\nOK\r\n" + b + b"\r\n" + h + b"\r\nOK 01\r\n"
            for step in (1, 7, len(text)):
                r = sk.LineReader()
                got = _feed(r, text, step)
                assert got[2:] == [b, h, b"OK 01"], (head, data, step, got)
                assert r.dropped == 0 and len(r) == 0
                assert sk.parse_line(got[2])[1].data == data
                assert sk.parse_line(got[3])[1].data == data
                assert r.hex is True  # the last ERXUDP was hex


def test_the_reader_says_which_form_it_saw():
    r = sk.LineReader()
    assert r.hex is None
    r.feed(binary(HEADS[0], b"\x10\x81\x00\x01") + b"\r\n")
    assert len(drain(r)) == 1 and r.hex is False
    r.feed(hexed(HEADS[0], b"\x10\x81\x00\x01") + b"\r\n")
    assert len(drain(r)) == 1 and r.hex is True


def test_binary_data_arriving_late_is_waited_for():
    data = b"AB\r\n\r\nCDEF\n"
    line = binary(HEADS[0], data)
    r = sk.LineReader()
    r.feed(line[:-5])  # the LF inside the data is there, the rest of it not yet
    assert drain(r) == []
    r.feed(line[-5:] + b"\r\nOK\r\n")
    assert drain(r) == [line, b"OK"]


def test_a_hex_line_of_the_wrong_length_is_not_taken_for_hex():
    # one hex digit short: not hex; as raw data it has no LF, so the line ends at its CRLF and
    # does not parse (counted as a bad line); nothing stalls
    bad = (HEADS[0] + "0004 1081000").encode()
    r = sk.LineReader()
    r.feed(bad + b"\r\nOK\r\n")
    assert drain(r) == [bad, b"OK"]
    assert r.hex is False and len(r) == 0
    try:
        sk.parse_line(bad)
        parsed = True
    except ValueError:
        parsed = False
    assert not parsed


def test_binary_data_too_long_for_the_buffer_is_skipped_by_length():
    data = b"\n" * 300
    r = sk.LineReader(200)
    r.feed(binary(HEADS[0], data) + b"\r\nOK\r\n")
    assert drain(r) == [b"OK"] and r.dropped == 1


def test_start_up_lines_keep_the_kinds_of_sk():
    # lib/link/sk_scan.py repeats sk's kinds (it does not import its caller): they must agree
    ip = IP.encode()
    assert sk.parse_line(b"EVER 1.2.10") == (EVER, "1.2.10")
    assert sk.parse_line(b"ESREG 21") == (ESREG, "21")
    assert sk.parse_line(b"EPONG " + ip) == (EPONG, IP)
    assert sk.parse_line(b"EPANDESC") == (EPANDESC,)
    assert sk.parse_line(b"  Channel:2F") == (FIELD, "Channel", "2F")
    assert sk.parse_line(ip) == (IPV6, IP)


class Uart:
    """A UART whose readinto() hands out at most step bytes at a time."""

    def __init__(self, data, step):
        self.data = data
        self.step = step

    def any(self):
        return len(self.data)

    def readinto(self, buf):
        n = min(len(buf), self.step, len(self.data))
        buf[:n] = self.data[:n]
        self.data = self.data[n:]
        return n


def _read(r, text, step):
    """readfrom() a UART holding text until it is empty, draining after each read."""
    u = Uart(text, step)
    got = []
    for _ in range(len(text) + 10):
        if not u.any():
            break
        r.readfrom(u)
        got += drain(r)
    return got


def test_readfrom_reads_the_uart_straight_into_the_buffer():
    # the session reads the UART with readfrom(): the same lines as feed(), whatever the chunks
    for head in HEADS:
        for data in PAYLOADS:
            text = b"OK\r\n" + binary(head, data) + b"\r\n" + hexed(head, data) + b"\r\nOK 01\r\n"
            want = [b"OK", binary(head, data), hexed(head, data), b"OK 01"]
            for step in (1, 7, 100, len(text)):
                r = sk.LineReader()
                assert _read(r, text, step) == want, (head, data, step)
                assert r.dropped == 0 and len(r) == 0
    # what does not fit stays in the UART; a line longer than the buffer is dropped, then the
    # reading goes on
    r = sk.LineReader(64)
    u = Uart(b"OK 01\r\n" + b"X" * 200 + b"\r\nOK\r\n", 1000)
    r.readfrom(u)
    assert len(r) == 64 and len(u.data) == 7 + 202 + 4 - 64  # the rest waits in the UART
    r = sk.LineReader(64)
    assert _read(r, b"OK 01\r\n" + b"X" * 200 + b"\r\nOK\r\n", 1000) == [b"OK 01", b"OK"]
    assert r.dropped == 1 and len(r) == 0


def test_resize_keeps_what_is_buffered_and_sets_the_longest_line():
    r = sk.LineReader(64)
    long_line = b"X" * 100
    r.feed(long_line + b"\r\nOK\r\n")
    assert r.next_line() == b"OK" and r.dropped == 1  # 100 B does not fit 64 B: dropped
    r.feed(b"EVENT 21 " + IP.encode()[:10])  # half a line waits in the buffer
    r.resize(256)
    r.feed(IP.encode()[10:] + b" 00\r\n" + long_line + b"\r\n")
    assert r.next_line() == b"EVENT 21 " + IP.encode() + b" 00"
    assert r.next_line() == long_line and r.dropped == 1  # fits now
    r.feed(b"EVENT 2")
    r.resize(16)
    r.feed(b"5 x\r\n" + long_line + b"\r\nOK\r\n")
    assert r.next_line() == b"EVENT 25 x"
    assert r.next_line() == b"OK" and r.dropped == 2  # short again: the long line is dropped
