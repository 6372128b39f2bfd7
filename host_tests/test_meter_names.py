"""host/meter_names.py (host tools only): EPC names and the values/refused helpers. The meter property
codec itself is tested on both interpreters in common/test_codec.py and common/test_codec_props.py."""

import meter_names
from meter import echonet, frames

# ECHONET Lite ESVs (lib/meter/echonet.py docstring)
ESV_GET_SNA = 0x52


def test_names_cover_the_issue_list():
    epcs = {0xD3, 0xD5, 0xD7, 0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE7, 0xE8, 0xEA, 0xEB}
    assert set(meter_names.NAMES) == epcs
    assert meter_names.NAMES[0xE7] == "instantaneous_power"
    assert meter_names.NAMES[0xE8] == "instantaneous_current"


def test_values_and_refused_on_a_multi_property_answer():
    props = [(0xE7, b"\x00\x00\x01\x00"), (0xE8, b"\x00\x0a\x7f\xfe"), (0xE0, b""), (0x80, b"\x30")]
    f = echonet.parse(frames.build(3, ESV_GET_SNA, props, echonet.EOJ_CONTROLLER, echonet.EOJ_METER))
    assert meter_names.values(f) == {0xE7: 256, 0xE8: (10, None)}
    assert meter_names.refused(f) == [0xE0]
