"""Codec tests in the common subset: run by pytest on CPython and by tools/mptest.py on MicroPython.

Frames and lines come from the seeds' real transcripts where they exist
(001: BP35A1 binary mode, 002: hex mode) and are built otherwise.
"""

import binascii

import meter
from link import sk
from meter import echonet, frames
from meter.echonet import CodecError

# the kinds of sk.parse_line: plain numbers (lib/link/sk.py docstring)
OK, FAIL, EVER, ESREG, IPV6, EVENT, EPANDESC, FIELD, EPONG, ERXUDP, ECHO, UNKNOWN = range(12)
# ECHONET Lite ESVs (lib/meter/echonet.py docstring)
ESV_GET_SNA = 0x52
ESV_GET = 0x62
ESV_GET_RES = 0x72
ESV_INF = 0x73
ESV_INFC_RES = 0x7A


def unhex(text):
    return binascii.unhexlify(text.replace(" ", ""))


def raises(fn, *args):
    """True when fn(*args) raises CodecError (and nothing else)."""
    try:
        fn(*args)
    except CodecError:
        return True
    return False


# seed 002 (hex mode): Get_Res E7 = 0x2AE = 686 W, then 667 W
GET_RES_686 = unhex("1081000102880105FF017201E704000002AE")
GET_RES_667 = unhex("1081000102880105FF017201E7040000029B")
# seed 001: the instance list the meter multicasts after joining, and two E7 answers
INSTANCE_LIST = unhex("108100000EF0010EF0017301D50401028801")
GET_RES_1114 = b"\x10\x81\x00\x01\x02\x88\x01\x05\xff\x01r\x01\xe7\x04\x00\x00\x04Z"
GET_RES_1097 = b"\x10\x81\x00\x02\x02\x88\x01\x05\xff\x01r\x01\xe7\x04\x00\x00\x04I"
# seed 001's request, byte for byte (Ruby pack of TID 1, Get E7)
GET_E7_TID1 = b"\x10\x81\x00\x01\x05\xff\x01\x02\x88\x01b\x01\xe7\x00"

IP = "FE80:0000:0000:0000:021C:6400:03DD:6393"
ME = "FE80:0000:0000:0000:021D:1290:0003:A4F1"
HEAD9 = "ERXUDP %s %s 0E1A 0E1A 001C640003DD6393 1 " % (IP, ME)


# ---- echonet ------------------------------------------------------------


def test_parse_seed_get_res():
    f = echonet.parse(GET_RES_686)
    assert f.tid == 1
    assert f.seoj == echonet.EOJ_METER and f.deoj == echonet.EOJ_CONTROLLER
    assert f.esv == ESV_GET_RES
    assert f.props == [(0xE7, b"\x00\x00\x02\xae")]
    assert meter.decode(0xE7, f.get(0xE7)) == 686
    assert meter.decode(0xE7, echonet.parse(GET_RES_667).get(0xE7)) == 667
    assert meter.decode(0xE7, echonet.parse(GET_RES_1114).get(0xE7)) == 1114
    f = echonet.parse(GET_RES_1097)
    assert f.tid == 2 and meter.decode(0xE7, f.get(0xE7)) == 1097


def test_parse_accepts_bytearray_and_memoryview():
    for data in (bytearray(GET_RES_686), memoryview(GET_RES_686)):
        f = echonet.parse(data)
        assert f.tid == 1 and f.get(0xE7) == b"\x00\x00\x02\xae"


def test_parse_instance_list():
    f = echonet.parse(INSTANCE_LIST)
    assert f.tid == 0 and f.esv == ESV_INF
    assert f.seoj == echonet.EOJ_NODE_PROFILE == f.deoj
    assert meter.decode(0xD5, f.get(0xD5)) == [echonet.EOJ_METER]
    assert f.get(0xE7) is None


def test_build_get_matches_seed_request():
    assert frames.build_get(1, [0xE7]) == GET_E7_TID1
    assert frames.build_get(1, b"\xe7") == GET_E7_TID1
    multi = frames.build_get(0x1234, [0xE7, 0xE8, 0xE0])
    assert multi == unhex("1081 1234 05FF01 028801 62 03 E700 E800 E000")
    f = echonet.parse(multi)
    assert f.tid == 0x1234 and f.esv == ESV_GET
    assert f.props == [(0xE7, b""), (0xE8, b""), (0xE0, b"")]
    assert frames.build_get(0x10001, [0xE7])[2:4] == b"\x00\x01"  # TID wraps at 65536


def test_build_setc_and_infc_res():
    setc = frames.build(7, 0x61, [(0xE5, b"\x01")])  # SetC
    assert setc == unhex("1081 0007 05FF01 028801 61 01 E5 01 01")
    res = frames.build_get(0x00AB, [0xEA], echonet.EOJ_METER, 0x7A)  # INFC_Res
    assert res == unhex("1081 00AB 05FF01 028801 7A 01 EA 00")
    f = echonet.parse(res)
    assert f.esv == ESV_INFC_RES and f.get(0xEA) == b""


def test_build_parse_round_trip():
    props = [(0xE7, b"\xff\xff\xfb\x50"), (0xE8, b"\x00\x7b\xff\xd3"), (0x80, b"")]
    data = frames.build(0xBEEF, ESV_GET_RES, props, echonet.EOJ_CONTROLLER, echonet.EOJ_METER)
    f = echonet.parse(data)
    assert (f.tid, f.esv, f.props) == (0xBEEF, 0x72, props)
    assert f.seoj == echonet.EOJ_METER and f.deoj == echonet.EOJ_CONTROLLER
    f = echonet.parse(frames.build(1, 0x72, [], b"\x01\x30\x01", b"\x02\x87\x02"))
    assert f.seoj == b"\x02\x87\x02" and f.deoj == b"\x01\x30\x01" and f.props == []


def test_parse_rejects_malformed():
    good = GET_RES_686
    for bad in (
        b"",
        good[:11],  # shorter than the header
        b"\x11" + good[1:],  # EHD1
        good[:1] + b"\x82" + good[2:],  # EHD2
        good[:-1],  # PDC past the end
        good[:12] + b"\xe7",  # EPC without PDC
        good[:11] + b"\x02" + good[12:],  # OPC 2, only one property
        good + b"\x00",  # trailing garbage
    ):
        assert raises(echonet.parse, bad), bad


def test_get_sna_keeps_the_properties_with_data():
    # Get_SNA for E7 + D3: the meter refuses D3 (PDC 0) and still answers E7
    data = unhex("1081 0005 028801 05FF01 52 02 E7 04 FFFFFB50 D3 00")
    f = echonet.parse(data)
    assert f.esv == ESV_GET_SNA
    assert f.get(0xD3) == b"" and f.get(0xE0) is None
    assert meter.decode(0xE7, f.get(0xE7)) == -1200
    assert [epc for epc, edt in f.props if not edt] == [0xD3]


# ---- meter --------------------------------------------------------------


def test_e7_signed_and_sentinels():
    d = meter.decode
    assert d(0xE7, unhex("FFFFFB50")) == -1200  # export (solar)
    assert d(0xE7, unhex("FFFFFFFF")) == -1
    assert d(0xE7, unhex("80000001")) == -2147483647
    assert d(0xE7, unhex("7FFFFFFD")) == 2147483645
    assert d(0xE7, unhex("00000000")) == 0
    assert d(0xE7, unhex("7FFFFFFE")) is None  # no data
    assert d(0xE7, unhex("7FFFFFFF")) is None  # overflow
    assert d(0xE7, unhex("80000000")) is None  # underflow


def test_e8_signed_single_phase_and_sentinels():
    d = meter.decode
    assert d(0xE8, unhex("007B FFD3")) == (123, -45)  # 12.3 A, -4.5 A
    assert d(0xE8, unhex("0032 7FFE")) == (50, None)  # single-phase 2-wire
    assert d(0xE8, unhex("0032")) == (50, None)  # R only
    assert d(0xE8, unhex("7FFE 7FFE")) == (None, None)
    assert d(0xE8, unhex("8000 7FFF")) == (None, None)  # under/overflow
    assert d(0xE8, unhex("8001 7FFD")) == (-32767, 32765)
    assert raises(d, 0xE8, b"\x00\x01\x02")


def test_cumulative_and_settings():
    d = meter.decode
    assert d(0xE0, unhex("0000C350")) == 50000
    assert d(0xE3, unhex("05F5E0FF")) == 99999999
    assert d(0xE0, unhex("FFFFFFFE")) is None
    assert d(0xD3, unhex("0000000A")) == 10
    assert d(0xD7, b"\x06") == 6
    assert d(0xE5, b"\x00") == 0
    assert d(0xE1, b"\x01") == 0.1 and d(0xE1, b"\x0d") == 10000.0
    assert raises(d, 0xE1, b"\x05")
    assert raises(d, 0xE0, b"\x00\x00\x00")
    assert raises(d, 0xE7, b"")  # refused property: no value
    assert raises(d, 0x80, b"\x30")  # not a meter property


def test_units_table():
    expect = {0: 1, 1: 0.1, 2: 0.01, 3: 0.001, 4: 0.0001, 0x0A: 10, 0x0B: 100, 0x0C: 1000, 0x0D: 10000}
    for code, kwh in expect.items():
        assert meter.unit_kwh(code) == kwh
    for code in (5, 9, 0x0E, 0xFF, -1):
        assert raises(meter.unit_kwh, code)


def test_history_e2_e4():
    values = [1000 + k for k in range(40)] + [0xFFFFFFFE] * 8
    edt = b"\x00\x03" + b"".join(v.to_bytes(4, "big") for v in values)
    day, raw = meter.decode(0xE2, edt)
    assert day == 3 and len(raw) == 48
    assert raw[0] == 1000 and raw[39] == 1039 and raw[40:] == [None] * 8
    assert meter.decode(0xE4, edt) == (day, raw)
    assert raises(meter.decode, 0xE2, edt[:-1])


def test_fixed_time_ea_eb():
    edt = unhex("07E8 0B 16 0A 1E 00 00012345")
    assert meter.decode(0xEA, edt) == ((2024, 11, 22, 10, 30, 0), 0x12345)
    edt = unhex("07E8 01 01 00 00 00 FFFFFFFE")
    assert meter.decode(0xEB, edt) == ((2024, 1, 1, 0, 0, 0), None)
    assert raises(meter.decode, 0xEA, edt[:10])


def test_instance_list_d5():
    d = meter.decode
    assert d(0xD5, unhex("02 028801 028802")) == [b"\x02\x88\x01", b"\x02\x88\x02"]
    assert d(0xD5, b"\x00") == []
    assert raises(d, 0xD5, unhex("02 028801"))
    assert raises(d, 0xD5, b"")


def test_to_kwh():
    assert meter.to_kwh(12345, None, 0.1) == 1234.5  # D3 refused -> 1
    assert meter.to_kwh(12345, 1, 1.0) == 12345.0
    assert meter.to_kwh(12345, 10, 0.01) == 1234.5
    assert meter.to_kwh(7, 1, 100.0) == 700.0
    assert meter.to_kwh(None, 1, 0.1) is None


def test_delta_kwh_integer_first_and_wraps():
    # a single-precision float cannot tell 9999999.9 from 9999999.8; the difference is exact
    assert meter.delta_kwh(99999999, 99999998, 8, 1, 0.1) == 0.1
    assert meter.delta_kwh(123456, 120000, 6, None, 0.1) == 345.6
    assert meter.delta_kwh(5, 99999995, 8, 1, 0.1) == 1.0  # wrapped at 10**8
    assert meter.delta_kwh(3, 999998, 6, 2, 1.0) == 10.0
    assert meter.delta_kwh(10, 10, 6, 1, 0.01) == 0.0
    assert meter.delta_kwh(None, 10, 6, 1, 0.1) is None


# ---- sk lines -----------------------------------------------------------


def test_simple_lines():
    p = sk.parse_line
    assert p(b"OK") == (OK, None)
    assert p(b"OK 01") == (OK, "01")
    assert p(b"OK 00") == (OK, "00")
    assert p(b"FAIL ER04") == (FAIL, "ER04")
    assert p(b"FAIL ER10") == (FAIL, "ER10")
    assert p(b"EVER 1.2.10") == (EVER, "1.2.10")
    assert p(b"ESREG 0") == (ESREG, "0")
    assert p(IP.encode()) == (IPV6, IP)
    assert p(b"EPONG " + IP.encode()) == (EPONG, IP)
    assert p(b"EPANDESC") == (EPANDESC,)
    assert p(b"hello world") == (UNKNOWN, "hello world")
    assert p(b"FE80:0000:0000:0000:YYYY:YYYY:YYYY:YYYY")[0] == UNKNOWN
    assert raises(p, b"EVER")


def test_epandesc_fields_seed_001():
    lines = [b"  Channel:2F", b"  Channel Page:09", b"  Pan ID:A0E6", b"  Addr:001C64000357ABCD"]
    lines += [b"  LQI:84", b"  PairID:00A12345"]
    got = [sk.parse_line(x) for x in lines]
    assert got[0] == (FIELD, "Channel", "2F")
    assert got[1] == (FIELD, "Channel Page", "09")
    assert got[2] == (FIELD, "Pan ID", "A0E6")
    assert got[3] == (FIELD, "Addr", "001C64000357ABCD")
    assert got[4] == (FIELD, "LQI", "84")
    assert got[5] == (FIELD, "PairID", "00A12345")
    assert sk.parse_line(b"  Side:0") == (FIELD, "Side", "0")


def test_event_lines():
    p = sk.parse_line
    ip = IP.encode()
    assert p(b"EVENT 20 " + ip) == (EVENT, 0x20, IP, None, None)
    assert p(b"EVENT 21 " + ip + b" 02") == (EVENT, 0x21, IP, 2, None)
    assert p(b"EVENT 21 " + ip + b" 00") == (EVENT, 0x21, IP, 0, None)
    assert p(b"EVENT 25 " + ip + b" 0") == (EVENT, 0x25, IP, None, 0)  # BP35C0: side only
    assert p(b"EVENT 21 " + ip + b" 0 00") == (EVENT, 0x21, IP, 0, 0)  # BP35C0: side, param
    assert p(b"EVENT 21 " + ip + b" 01 1") == (EVENT, 0x21, IP, 1, 1)
    assert p(b"EVENT 29 " + ip + b" ") == (EVENT, 0x29, IP, None, None)
    assert raises(p, b"EVENT 2G " + ip)
    assert raises(p, b"EVENT 21")
    assert raises(p, b"EVENT 21 " + ip + b" 00 0 7")


def test_echo_of_our_commands():
    p = sk.parse_line
    assert p(b"SKVER") == (ECHO, "SKVER")
    assert p(b"SKSREG SFE 0") == (ECHO, "SKSREG SFE 0")
    assert p(b"ROPT") == (ECHO, "ROPT")
    assert p(b"WOPT 01") == (ECHO, "WOPT 01")
    assert p(b"SKSENDTO 1 " + IP.encode() + b" 0E1A 1 000E")[0] == ECHO
    # credentials never come back out of the codec, not even in an echo
    assert p(b"SKSETPWD C ABCDEFGHIJKL") == (ECHO, "SKSETPWD ***")
    assert p(b"SKSETRBID 00000099021000000000000000A12345") == (ECHO, "SKSETRBID ***")


def test_erxudp_hex_seed_002():
    line = (HEAD9 + "0012 1081000102880105FF017201E704000002AE").encode()
    kind, e = sk.parse_line(line)
    assert kind == ERXUDP
    assert e.sender == IP and e.dest == ME and e.sender_lla == "001C640003DD6393"
    assert e.rport == 0x0E1A and e.lport == 0x0E1A and e.secured == 1
    assert e.side is None and e.rssi is None
    assert e.data == GET_RES_686
    assert meter.decode(0xE7, echonet.parse(e.data).get(0xE7)) == 686


def test_erxudp_side_and_rssi_forms():
    data = "108100000EF0010EF0017301D50401028801"
    head = "ERXUDP %s FF02:0000:0000:0000:0000:0000:0000:0001 0E1A 0E1A 001C640003DD6393 " % IP
    kind, e = sk.parse_line((head + "1 0 0012 " + data).encode())  # 10 tokens: SIDE
    assert (e.secured, e.side, e.rssi, e.data) == (1, 0, None, INSTANCE_LIST)
    kind, e = sk.parse_line((head + "B4 1 1 0012 " + data).encode())  # 11 tokens: RSSI
    assert (e.secured, e.side, e.rssi, e.data) == (1, 1, -76, INSTANCE_LIST)
    assert e.dest == "FF02:0000:0000:0000:0000:0000:0000:0001"
    kind, e = sk.parse_line((head + "-62 1 0 0012 " + data).encode())
    assert e.rssi == -62
    kind, e = sk.parse_line((head + "0 0000").encode())  # empty datagram
    assert e.data == b"" and e.secured == 0


def test_erxudp_binary_data_with_crlf_and_spaces():
    frame = frames.build(
        0x0D0A, 0x72, [(0xE7, b"\x00\x0d\x0a\x20")], echonet.EOJ_CONTROLLER, echonet.EOJ_METER
    )
    line = (HEAD9 + "%04X " % len(frame)).encode() + frame
    kind, e = sk.parse_line(line)
    assert kind == ERXUDP and e.data == frame
    f = echonet.parse(e.data)
    assert f.tid == 0x0D0A and meter.decode(0xE7, f.get(0xE7)) == 0x000D0A20
    # 10-token form in binary mode: data starting with a space
    line = (HEAD9 + "0 0003 ").encode() + b" \r\n"
    assert sk.parse_line(line)[1].data == b" \r\n"


def test_erxudp_malformed():
    p = sk.parse_line
    assert raises(p, (HEAD9 + "0012 1081000102880105FF017201E7040000").encode())  # truncated
    assert raises(p, (HEAD9 + "0012 1081000102880105FF017201E704000002AZ").encode())  # not hex
    assert raises(p, b"ERXUDP " + IP.encode() + b" " + ME.encode())
    assert raises(p, (HEAD9 + "1 1 1 0012").encode())  # too many small fields
    assert raises(p, (HEAD9 + "00G2 00").encode())


# ---- LineReader ---------------------------------------------------------


def drain(reader):
    out = []
    while True:
        line = reader.next_line()
        if line is None:
            return out
        out.append(line)


def test_reader_split_across_many_feeds():
    text = b"EVER 1.2.10\r\nOK\r\n" + (HEAD9 + "0012 108100000EF0010EF0017301D50401028801\r\n").encode()
    r = sk.LineReader()
    got = []
    for k in range(len(text)):
        r.feed(text[k : k + 1])
        got += drain(r)
    assert got == text.split(b"\r\n")[:3]
    assert r.dropped == 0 and len(r) == 0


def test_reader_binary_erxudp_byte_by_byte():
    frame = frames.build(0x0D0A, 0x72, [(0xE7, b"\r\n \n")], echonet.EOJ_CONTROLLER, echonet.EOJ_METER)
    head = (HEAD9 + "%04X " % len(frame)).encode()
    text = b"EVENT 21 " + IP.encode() + b" 00\r\nOK\r\n" + head + frame + b"\r\nOK 00\r\n"
    r = sk.LineReader()
    r.binary = True
    buf = bytearray(1)
    mv = memoryview(buf)
    got = []
    for c in text:  # one byte at a time through the same reused buffer
        buf[0] = c
        r.feed(mv)
        got += drain(r)
    assert len(got) == 4, got
    assert got[2] == head + frame
    assert sk.parse_line(got[2])[1].data == frame
    assert sk.parse_line(got[3]) == (OK, "00")
    assert r.dropped == 0


def test_reader_binary_flag_still_reads_hex_lines():
    line = (HEAD9 + "0012 1081000102880105FF017201E704000002AE").encode()
    r = sk.LineReader()
    r.binary = True
    r.feed(line + b"\r\nOK\r\n")
    assert drain(r) == [line, b"OK"]


def test_reader_reads_binary_data_by_length_without_a_mode():
    # no ROPT answer, no flag: a CRLF inside the data does not end the line (issue 11, fix 5)
    frame = frames.build(0x0D0A, 0x72, [], echonet.EOJ_CONTROLLER, echonet.EOJ_METER)
    r = sk.LineReader()
    r.feed((HEAD9 + "000C ").encode() + frame + b"\r\n")
    got = drain(r)
    assert len(got) == 1 and r.hex is False
    assert sk.parse_line(got[0])[1].data == frame


def test_reader_overlong_line_dropped_and_counted():
    r = sk.LineReader(64)
    r.feed(b"OK\r\n" + b"X" * 100 + b"\r\nEVER 1.2.10\r\n")
    assert drain(r) == [b"OK", b"EVER 1.2.10"]
    assert r.dropped == 1
    r.feed(b"Y" * 70)
    assert drain(r) == []
    r.feed(b"Y" * 70 + b"\r\nOK\r\n")
    assert drain(r) == [b"OK"]
    assert r.dropped == 2


def test_reader_overlong_binary_erxudp_skipped_by_length():
    r = sk.LineReader(160)
    r.binary = True
    data = b"\r\n" * 40  # 80 bytes that would split into lines if read as text
    head = (HEAD9 + "%04X " % len(data)).encode()
    r.feed(head + data + b"\r\nOK\r\n")
    assert drain(r) == [b"OK"]
    assert r.dropped == 1


def test_reader_junk_and_empty_lines():
    r = sk.LineReader()
    r.feed(b"\x00\xff\xfeOK\r\n\r\n\r\nEVER 1.2.10\n")
    assert drain(r) == [b"OK", b"EVER 1.2.10"]
    assert r.dropped == 1


def test_reader_big_feed_is_not_lost():
    lines = [("EVENT 21 %s %02X" % (IP, k)).encode() for k in range(60)]
    r = sk.LineReader(200)
    r.feed(b"\r\n".join(lines) + b"\r\n")  # ~3 KB into a 200-byte buffer
    assert drain(r) == lines
    assert r.dropped == 0 and len(r) == 0


def test_reader_binary_data_that_looks_like_hex():
    # raw data made of hex digits is still read by length: the CRLF after it is not a hex digit
    r = sk.LineReader()
    r.binary = True
    for data in (b"AB\r\nCD", b"ABCD", b"0\n", b"1081"):
        line = (HEAD9 + "%04X " % len(data)).encode() + data
        got = []
        for c in line + b"\r\nOK\r\n":
            r.feed(bytes([c]))
            got += drain(r)
        assert got == [line, b"OK"], got
        assert sk.parse_line(line)[1].data == data
    assert r.dropped == 0


def test_reader_binary_flag_drops_overlong_hex_line():
    r = sk.LineReader(200)
    r.binary = True
    line = (HEAD9 + "0040 " + "10" * 64).encode()  # 64 bytes as 128 hex digits: > 200 in all
    r.feed(line + b"\r\nOK\r\n")
    assert drain(r) == [b"OK"]
    assert r.dropped == 1


def test_reader_smaller_than_a_header_never_stalls():
    r = sk.LineReader(40)
    r.binary = True
    r.feed((HEAD9 + "0003 ").encode() + b"\x10\r\n\r\nOK\r\n")
    assert drain(r) == [b"OK"]
    assert r.dropped == 1 and len(r) == 0
