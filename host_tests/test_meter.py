"""Meter properties on CPython: checked against Python's own signed decoding, units and kWh maths."""

import struct

import meter
import meter_names
import pytest
from meter.echonet import CodecError
from hypothesis import given
from hypothesis import strategies as st


@given(st.binary(min_size=4, max_size=4))
def test_e7_is_int32_with_sentinels(edt):
    v = int.from_bytes(edt, "big", signed=True)
    expect = None if v in (0x7FFFFFFE, 0x7FFFFFFF, -0x80000000) else v
    assert meter.decode(0xE7, edt) == expect


@given(st.binary(min_size=4, max_size=4))
def test_e8_is_two_int16_in_deciamps(edt):
    r, t = struct.unpack(">hh", edt)

    def one(v):
        return None if v in (0x7FFE, 0x7FFF, -0x8000) else v

    assert meter.decode(0xE8, edt) == (one(r), one(t))
    assert meter.decode(0xE8, edt[:2]) == (one(r), None)


@given(st.binary(min_size=4, max_size=4))
def test_cumulative_is_uint32(edt):
    v = int.from_bytes(edt, "big")
    assert meter.decode(0xE0, edt) == (None if v == 0xFFFFFFFE else v)
    assert meter.decode(0xD3, edt) == v


@pytest.mark.parametrize("epc", sorted(meter_names.NAMES))
def test_every_known_epc_rejects_wrong_lengths(epc):
    good = {0xD3: 4, 0xD7: 1, 0xE0: 4, 0xE1: 1, 0xE3: 4, 0xE5: 1, 0xE7: 4, 0xE8: 4, 0xEA: 11, 0xEB: 11}
    good.update({0xE2: 194, 0xE4: 194, 0xD5: 4})
    n = good[epc]
    edt = b"\x01" + b"\x00" * (n - 1)
    meter.decode(epc, edt)
    lengths = [0, n - 1, n + 1, n + 3] if epc != 0xE8 else [0, 1, 3, 5]
    for k in lengths:
        with pytest.raises(CodecError):
            meter.decode(epc, (edt * 2)[:k])


def test_names_cover_the_issue_list():
    assert set(meter_names.NAMES) == {0xD3, 0xD5, 0xD7, 0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE7, 0xE8, 0xEA, 0xEB}
    assert meter_names.NAMES[0xE7] == "instantaneous_power"
    assert meter_names.NAMES[0xE8] == "instantaneous_current"


@given(
    st.integers(0, 99999999),
    st.integers(0, 99999999),
    st.integers(1, 8),
    st.sampled_from([None, 1, 10, 100]),
    st.sampled_from([0, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D]),
)
def test_delta_is_the_wrapped_integer_difference(now, then, digits, coefficient, code):
    mod = 10**digits
    now, then = now % mod, then % mod
    unit = meter.unit_kwh(code)
    counts = ((now - then) % mod) * (coefficient or 1)
    got = meter.delta_kwh(now, then, digits, coefficient, unit)
    assert got == pytest.approx(counts * unit, rel=1e-12, abs=1e-12)
    assert got >= 0


def test_to_kwh_and_delta_agree():
    unit = meter.unit_kwh(1)
    a, b = meter.to_kwh(123456, 1, unit), meter.to_kwh(120000, 1, unit)
    assert a == 12345.6 and b == 12000.0
    assert meter.delta_kwh(123456, 120000, 6, 1, unit) == pytest.approx(a - b)


def test_values_and_refused_on_a_multi_property_answer():
    from meter import echonet

    props = [(0xE7, b"\x00\x00\x01\x00"), (0xE8, b"\x00\x0a\x7f\xfe"), (0xE0, b""), (0x80, b"\x30")]
    f = echonet.parse(echonet.build(3, echonet.ESV_GET_SNA, props, echonet.EOJ_CONTROLLER, echonet.EOJ_METER))
    assert meter_names.values(f) == {0xE7: 256, 0xE8: (10, None)}
    assert meter_names.refused(f) == [0xE0]
