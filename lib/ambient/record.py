"""An Ambient record and the request that carries it.

A record is a dict of d1..d7 and, optionally, "created" (Unix epoch ms) so a
late send lands at the time it was measured (see make_record for the units).
The write key is a credential: body() and array_head() put it straight into
the POST body; it must never be logged, shown, or put in an exception.
JSON is written compact (separators: MicroPython >= 1.17, PR #7478).
"""

import json


def _round(v, n):
    return float(round(v, n)) or 0.0  # -0.0 becomes 0.0


def make_record(
    current_a,
    power_w,
    period_kwh,
    charge_yen,
    export_kwh=None,
    created_ms=None,
    forecast_yen=None,
    today_kwh=None,
):
    """Ambient record dict; a value that is None is left out.

    current_a (A) -> d1, 1 decimal; power_w (W, negative on export) -> d2 kW,
    3 decimals; period_kwh -> d3, 2 decimals; charge_yen -> d4 int;
    export_kwh -> d5, 2 decimals; forecast_yen (the period's forecast) -> d6 int;
    today_kwh -> d7, 2 decimals; created_ms (Unix epoch ms) -> created.
    """
    rec = {}
    if current_a is not None:
        rec["d1"] = _round(current_a, 1)
    if power_w is not None:
        rec["d2"] = _round(power_w / 1000, 3)
    if period_kwh is not None:
        rec["d3"] = _round(period_kwh, 2)
    if charge_yen is not None:
        rec["d4"] = int(charge_yen)
    if export_kwh is not None:
        rec["d5"] = _round(export_kwh, 2)
    if forecast_yen is not None:
        rec["d6"] = int(forecast_yen)
    if today_kwh is not None:
        rec["d7"] = _round(today_kwh, 2)
    if created_ms is not None:
        rec["created"] = int(created_ms)
    return rec


def url(base, channel_id, bulk=False):
    """POST address: base (e.g. "http://ambidata.io") + /api/v2/channels/<id>/data or /dataarray."""
    return "%s/api/v2/channels/%s/%s" % (base.rstrip("/"), channel_id, "dataarray" if bulk else "data")


def body(write_key, record):
    """JSON bytes for POST .../data: the record plus "writeKey"."""
    if type(write_key) is not str:
        raise TypeError("write key must be a string")  # never echo the value
    d = dict(record)  # one copy: cheaper on MicroPython than splicing the key into the record's JSON
    d["writeKey"] = write_key
    return json.dumps(d, separators=(",", ":")).encode()


def array_head(write_key):
    """The start of a .../dataarray body, up to the records: {"writeKey": ..., "data": [."""
    return body(write_key, {})[:-1] + b',"data":['
