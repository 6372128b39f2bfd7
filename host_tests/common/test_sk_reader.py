"""ERXUDP lines tell hex from binary by themselves (no ROPT guess): the LineReader reads raw data by
its length whatever it holds: CR, LF, spaces, bytes that look like hex digits (plain asserts;
pytest and tools/mptest.py run them)."""

import binascii

from link import sk

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
    assert sk.parse_line(b"EVER 1.2.10") == (sk.EVER, "1.2.10")
    assert sk.parse_line(b"ESREG 21") == (sk.ESREG, "21")
    assert sk.parse_line(b"EPONG " + ip) == (sk.EPONG, IP)
    assert sk.parse_line(b"EPANDESC") == (sk.EPANDESC,)
    assert sk.parse_line(b"  Channel:2F") == (sk.FIELD, "Channel", "2F")
    assert sk.parse_line(ip) == (sk.IPV6, IP)
