"""host/decode.py end to end: seed lines in, one JSON object per line out."""

import json
import os
import subprocess
import sys

import decode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# seed 002 (hex mode, addresses anonymised as in the article), without and with SIDE
SEED_002 = (
    "ERXUDP FE80:0000:0000:0000:XXXX:XXXX:XXXX:XXXX FE80:0000:0000:0000:XXXX:XXXX:XXXX:XXXX"
    " 0E1A 0E1A XXXXXXXXXXXXXXXX 1 0012 1081000102880105FF017201E704000002AE"
)
SEED_002_B = SEED_002.replace("02AE", "029B")
SEED_002_SIDE = SEED_002.replace(" 1 0012 ", " 1 0 0012 ")


def run(text):
    p = subprocess.run(
        [sys.executable, os.path.join(ROOT, "host", "decode.py")],
        input=text.encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert p.stderr == b""
    return [json.loads(x) for x in p.stdout.decode().splitlines()]


def test_seed_lines_end_to_end():
    text = "\n".join(
        [
            SEED_002,
            "",
            "   ",
            "<< " + SEED_002_B,
            SEED_002_SIDE + "  ",
            "108100000EF0010EF0017301D50401028801",  # seed 001 / protocol.md instance list
            "1081 0000 0EF001 0EF001 73 01 D5 04 01 028801",
            "this is not a frame",
        ]
    )
    out = run(text + "\n")
    assert len(out) == 6
    assert out[0] == {
        "tid": 1,
        "seoj": "028801",
        "deoj": "05FF01",
        "esv": "72",
        "properties": [{"epc": "E7", "name": "instantaneous_power", "value": {"w": 686}}],
    }
    assert out[1]["properties"][0]["value"] == {"w": 667}
    assert out[2] == out[0]
    assert (
        out[3]
        == out[4]
        == {
            "tid": 0,
            "seoj": "0EF001",
            "deoj": "0EF001",
            "esv": "73",
            "properties": [{"epc": "D5", "name": "instance_list", "value": {"instances": ["028801"]}}],
        }
    )
    assert set(out[5]) == {"error"}


def test_errors_do_not_stop_and_do_not_repeat_the_input():
    out = run("SKSETPWD C SECRETPASSW0RD\n1081\n" + SEED_002 + "\n")
    assert [set(x) for x in out] == [{"error"}, {"error"}, {"tid", "seoj", "deoj", "esv", "properties"}]
    assert "SECRETPASSW0RD" not in json.dumps(out)


def value_of(frame_hex):
    obj = decode.decode_line(frame_hex)
    assert obj is not None and "error" not in obj, obj
    return [(p["epc"], p["name"], p["value"]) for p in obj["properties"]]


def test_every_value_shape():
    hist = "0001" + "00000064" * 47 + "FFFFFFFE"
    props = [
        ("E7", "FFFFFB50"),
        ("E8", "007BFFD3"),
        ("E0", "0000C350"),
        ("E3", "FFFFFFFE"),
        ("E1", "01"),
        ("D3", "0000000A"),
        ("D7", "06"),
        ("EA", "07E80B160A1E0000012345"),
        ("EB", "07E80B160A1E00FFFFFFFE"),
        ("E2", hist),
        ("E4", hist),
        ("E5", "01"),
    ]
    body = "".join(epc + "%02X" % (len(edt) // 2) + edt for epc, edt in props)
    got = value_of("1081 0009 028801 05FF01 72 %02X " % len(props) + body)
    values = {epc: value for epc, _, value in got}
    assert values["E7"] == {"w": -1200}
    assert values["E8"] == {"r_a": 12.3, "t_a": -4.5}
    assert values["E0"] == {"raw": 50000}
    assert values["E3"] == {"raw": None}
    assert values["E1"] == {"kwh_per_unit": 0.1}
    assert values["D3"] == {"coefficient": 10}
    assert values["D7"] == {"digits": 6}
    assert values["EA"] == {"time": "2024-11-22 10:30:00", "raw": 0x12345}
    assert values["EB"] == {"time": "2024-11-22 10:30:00", "raw": None}
    assert values["E2"] == values["E4"] == {"day": 1, "raw": [100] * 47 + [None]}
    assert values["E5"] == {"day": 1}
    assert [name for _, name, _ in got][:2] == ["instantaneous_power", "instantaneous_current"]


def test_refused_unknown_and_malformed_properties():
    # Get_SNA: D3 refused; 0x99 unknown; E7 with 3 bytes is malformed but the rest still decodes
    got = value_of("1081 0005 028801 05FF01 52 04 D3 00 99 02 ABCD E7 03 000001 E8 02 0032")
    assert got[0] == ("D3", "coefficient", None)
    assert got[1] == ("99", None, {"hex": "ABCD"})
    assert got[2][0] == "E7" and got[2][2]["hex"] == "000001" and "error" in got[2][2]
    assert got[3] == ("E8", "instantaneous_current", {"r_a": 5.0, "t_a": None})


def test_non_meter_objects_keep_raw_hex():
    # E7 of some other class is not instantaneous power
    got = value_of("1081 0001 013001 05FF01 72 01 E7 01 05")
    assert got == [("E7", None, {"hex": "05"})]


def test_pana_datagram_is_reported_not_decoded():
    line = SEED_002.replace(" 0E1A 0E1A ", " 02CC 02CC ")
    assert "02CC" in decode.decode_line(line)["error"]


def test_binary_mode_line_kept_raw_in_the_log():
    frame = bytes.fromhex("1081000102880105FF017201E70400000220")  # E7 = 544 W: a space in the data
    head = SEED_002.split(" 0012 ")[0].encode() + b" 0012 "
    obj = decode.decode_line(b"<< " + head + frame + b"\r\n")
    assert obj is not None and obj["properties"][0]["value"] == {"w": 0x220}
