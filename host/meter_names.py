"""Names of the meter's properties and whole-frame helpers, for tools such as host/decode.py.

Host-only (decode.py, tests): the device never needs them, so they cost it
no heap.
"""

from meter import decode

NAMES = {
    0xD3: "coefficient",
    0xD5: "instance_list",
    0xD7: "effective_digits",
    0xE0: "cumulative_normal",
    0xE1: "cumulative_unit",
    0xE2: "history_normal",
    0xE3: "cumulative_reverse",
    0xE4: "history_reverse",
    0xE5: "history_day",
    0xE7: "instantaneous_power",
    0xE8: "instantaneous_current",
    0xEA: "fixed_time_normal",
    0xEB: "fixed_time_reverse",
}


def values(frame):
    """{epc: value} of the known properties that carry data.

    Refused properties (PDC 0, as in a Get_SNA answer) and unknown EPCs are
    left out; see refused(). CodecError when a known property is malformed.
    """
    out = {}
    for epc, edt in frame.props:
        if edt and epc in NAMES:
            out[epc] = decode(epc, edt)
    return out


def refused(frame):
    """EPCs that came back with PDC 0 (not supported by the meter)."""
    return [epc for epc, edt in frame.props if not edt]
