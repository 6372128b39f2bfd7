"""ECHONET Lite frames on CPython: round trips, malformed input, the request bytes the session sends."""

from meter import echonet
import pytest
from meter.echonet import CodecError
from hypothesis import given
from hypothesis import strategies as st

EOJ = st.binary(min_size=3, max_size=3)
PROPS = st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=40)), max_size=8)


@given(st.integers(0, 0xFFFF), st.integers(0, 255), PROPS, EOJ, EOJ)
def test_build_parse_round_trip(tid, esv, props, deoj, seoj):
    data = echonet.build(tid, esv, props, deoj, seoj)
    f = echonet.parse(data)
    assert (f.tid, f.esv, f.seoj, f.deoj, f.props) == (tid, esv, seoj, deoj, props)
    for epc, edt in props:
        first = next(e for p, e in props if p == epc)
        assert f.get(epc) == first
        assert edt is not None


@given(st.integers(0, 0xFFFF), st.lists(st.integers(0, 255), min_size=1, max_size=20))
def test_build_get_is_get_with_empty_edts(tid, epcs):
    f = echonet.parse(echonet.build_get(tid, epcs))
    assert f.esv == echonet.ESV_GET and f.tid == tid
    assert f.seoj == echonet.EOJ_CONTROLLER and f.deoj == echonet.EOJ_METER
    assert f.props == [(e, b"") for e in epcs]
    assert echonet.build_get(tid, bytes(epcs)) == echonet.build_get(tid, epcs)


@given(st.binary(min_size=12, max_size=60))
def test_every_truncation_of_a_frame_is_rejected(payload):
    frame = echonet.build(1, 0x72, [(0xE7, payload[:4]), (0xE8, payload[4:8])])
    for k in range(len(frame)):
        with pytest.raises(CodecError):
            echonet.parse(frame[:k])
    with pytest.raises(CodecError):
        echonet.parse(frame + payload[:1])


@pytest.mark.parametrize(
    "call",
    [
        lambda: echonet.build_get(1, []),
        lambda: echonet.build_get(1, list(range(256))),
        lambda: echonet.build_setc(1, [(0xE5, b"x" * 256)]),
        lambda: echonet.build_get(1, [0xE7], deoj=b"\x02\x88"),
        lambda: echonet.build_infc_res(1, b"\x02\x88\x01\x00", [0xEA]),
    ],
)
def test_builders_reject_impossible_frames(call):
    with pytest.raises(CodecError):
        call()


def test_codec_error_is_a_value_error():
    assert issubclass(CodecError, ValueError)
    with pytest.raises(ValueError):
        echonet.parse(b"\x10\x81")


def test_frame_repr_names_the_parts():
    f = echonet.parse(bytes.fromhex("1081000102880105FF017201E704000002AE"))
    assert repr(f) == "Frame(tid=1, 028801->05ff01, esv=72, ['E7:000002ae'])"


def test_infc_res_answers_an_infc():
    # INFC from the meter (EA pushed at :00/:30) -> INFC_Res with the same TID and EPC, PDC 0
    infc = echonet.parse(
        bytes.fromhex("1081 0042 028801 05FF01 74 01 EA 0B 07E80B160A1E0000012345".replace(" ", ""))
    )
    res = echonet.build_infc_res(infc.tid, infc.seoj, [e for e, _ in infc.props])
    f = echonet.parse(res)
    assert f.tid == 0x42 and f.esv == echonet.ESV_INFC_RES
    assert f.deoj == echonet.EOJ_METER and f.props == [(0xEA, b"")]
