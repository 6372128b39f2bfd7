"""Low-voltage smart electric energy meter (class 0x0288) properties.

decode(epc, edt) turns one property's EDT into a value; E7 and E8 are
signed, and the "no data" sentinels (0x7FFFFFFE, 0x7FFE, 0xFFFFFFFE) as
well as E7/E8 under- and overflow (0x80000000/0x7FFFFFFF, 0x8000/0x7FFF)
decode to None: none of them is a measurement. Cumulative values are raw
counts; to_kwh / delta_kwh scale them with D3 (coefficient) and E1 (unit).
"""

from meter.echonet import CodecError


def unit_kwh(code):
    """kWh per count for an E1 code (0x01 -> 0.1); CodecError for other codes."""
    try:
        i = (0x00, 0x01, 0x02, 0x03, 0x04, 0x0A, 0x0B, 0x0C, 0x0D).index(code)
    except ValueError:
        raise CodecError("unknown E1 unit code %r" % code)
    return (1.0, 0.1, 0.01, 0.001, 0.0001, 10.0, 100.0, 1000.0, 10000.0)[i]


def _u(edt, i, n):
    """Unsigned big-endian int of edt[i:i+n]."""
    v = 0
    for k in range(i, i + n):
        v = (v << 8) | edt[k]
    return v


def _u32(edt, i):
    """uint32 at i, None for 0xFFFFFFFE (no data)."""
    if edt[i] == 0xFF and edt[i + 1] == 0xFF and edt[i + 2] == 0xFF and edt[i + 3] == 0xFE:
        return None
    return _u(edt, i, 4)


def _s32(edt):
    """int32 in W; None for 0x7FFFFFFE no data, 0x7FFFFFFF / 0x80000000 over/underflow."""
    b0 = edt[0]
    b1 = edt[1]
    b2 = edt[2]
    b3 = edt[3]
    if b0 == 0x7F and b1 == 0xFF and b2 == 0xFF and b3 >= 0xFE:
        return None
    if b0 == 0x80 and not (b1 | b2 | b3):
        return None
    if b0 & 0x80:  # two's complement by hand: small ints only on the device
        return -((((b0 ^ 0xFF) << 24) | ((b1 ^ 0xFF) << 16) | ((b2 ^ 0xFF) << 8) | (b3 ^ 0xFF)) + 1)
    return (b0 << 24) | (b1 << 16) | (b2 << 8) | b3


def _s16(edt, i):
    """int16 in 0.1 A; None for 0x7FFE no data, 0x7FFF / 0x8000 over/underflow."""
    v = (edt[i] << 8) | edt[i + 1]
    if 0x7FFE <= v <= 0x8000:
        return None
    return v - 0x10000 if v & 0x8000 else v


def decode(epc, edt):
    """Value of one property; CodecError on a wrong length or an unknown EPC.

    D3 coefficient int; D7 digits int; E0/E3 raw count | None; E1 kWh per
    count (float); E5 day int; E7 W int | None; E8 (r, t) in 0.1 A, each
    int | None (a 2-byte E8 carries R only); E2/E4 (day, 48 x raw | None);
    EA/EB ((Y, M, D, h, m, s), raw | None); D5 list of 3-byte EOJs.
    """
    n = len(edt)
    if epc == 0xE8 and n == 2:
        return (_s16(edt, 0), None)
    if epc == 0xD5:
        if not n or n != 1 + 3 * edt[0]:
            raise CodecError("D5: %d bytes for %d instances" % (n, edt[0] if n else 0))
        return [bytes(edt[k : k + 3]) for k in range(1, n, 3)]
    if epc == 0xE2 or epc == 0xE4:
        want = 194
    elif epc == 0xEA or epc == 0xEB:
        want = 11
    elif epc == 0xD7 or epc == 0xE5 or epc == 0xE1:
        want = 1
    elif epc == 0xE7 or epc == 0xE8 or epc == 0xE0 or epc == 0xE3 or epc == 0xD3:
        want = 4
    else:
        raise CodecError("unknown EPC %02X" % epc)
    if n != want:
        raise CodecError("EPC %02X: %d bytes, expected %d" % (epc, n, want))
    if epc == 0xE7:
        return _s32(edt)
    if epc == 0xE8:
        return (_s16(edt, 0), _s16(edt, 2))
    if epc == 0xD3:
        return _u(edt, 0, 4)
    if epc == 0xE1:
        return unit_kwh(edt[0])
    if n == 1:  # D7, E5
        return edt[0]
    if n == 11:  # EA, EB
        return ((_u(edt, 0, 2), edt[2], edt[3], edt[4], edt[5], edt[6]), _u32(edt, 7))
    if n == 194:  # E2, E4
        return (_u(edt, 0, 2), [_u32(edt, 2 + 4 * k) for k in range(48)])
    return _u32(edt, 0)  # E0, E3


def _scale(count, kwh_per_unit):
    # divide by 10**k for fractional units: exact for single-precision floats
    if kwh_per_unit < 1:
        return count / round(1 / kwh_per_unit)
    return count * kwh_per_unit


def to_kwh(raw, coefficient, kwh_per_unit):
    """kWh of a cumulative raw count (None -> None); coefficient None means 1."""
    if raw is None:
        return None
    return _scale(raw if coefficient is None else raw * coefficient, kwh_per_unit)


def delta_kwh(raw_now, raw_then, digits, coefficient, kwh_per_unit):
    """kWh between two raw counts: integer difference first, then scaled.

    The counter wraps at 10**digits (D7); None when either count is None.
    """
    if raw_now is None or raw_then is None:
        return None
    d = raw_now - raw_then
    if digits:
        d %= 10**digits
    if coefficient is not None:
        d *= coefficient
    return _scale(d, kwh_per_unit)
