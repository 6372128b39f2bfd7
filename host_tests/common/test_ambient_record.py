"""ambient.record and ambient.limiter (pytest and tools/mptest.py on MicroPython)."""

import json

from ambient import record
from ambient.limiter import Limiter

KEY = "0123456789abcdef"
T0 = 1767225600  # 2026-01-01 00:00:00 UTC = 09:00 JST
DAY = 86400


def test_make_record_rounding_and_units():
    r = record.make_record(12.34, 1234.5678, 123.456, 4567.89, 1.234, 1767225600123)
    assert r == {"d1": 12.3, "d2": 1.235, "d3": 123.46, "d4": 4567, "d5": 1.23, "created": 1767225600123}
    assert type(r["d4"]) is int and type(r["created"]) is int
    r = record.make_record(12.34, -1234.5678, 123.456, 4567.89, None, 1767225600123)
    assert r == {"d1": 12.3, "d2": -1.235, "d3": 123.46, "d4": 4567, "created": 1767225600123}


def test_make_record_forecast_and_today():
    r = record.make_record(None, None, None, None, forecast_yen=8123.9, today_kwh=7.456)
    assert r == {"d6": 8123, "d7": 7.46} and type(r["d6"]) is int
    r = record.make_record(1, 100, 2, 3, None, 5, 4000, 0.004)
    assert r == {"d1": 1.0, "d2": 0.1, "d3": 2.0, "d4": 3, "d6": 4000, "d7": 0.0, "created": 5}
    assert "d6" not in record.make_record(1, 1, 1, 1) and "d7" not in record.make_record(1, 1, 1, 1)


def test_make_record_export_and_missing():
    assert record.make_record(None, -850, None, None) == {"d2": -0.85}
    r = record.make_record(0.04, -0.4, 0.001, 0)
    assert r == {"d1": 0.0, "d2": 0.0, "d3": 0.0, "d4": 0}
    assert "-0.0" not in json.dumps(r)
    assert record.make_record(None, None, None, None) == {}


def test_make_record_float32_values():
    """The session's values (W, 0.1 A, kWh) give the same record with float32 or float64."""
    r = record.make_record(8.6, -1500.0, 12.5, 1986, 0.25)
    assert r == {"d1": 8.6, "d2": -1.5, "d3": 12.5, "d4": 1986, "d5": 0.25}


def test_body():
    rec = record.make_record(3.2, 640, 10.5, 321, created_ms=1767225600000)
    b = record.body(KEY, rec)
    assert isinstance(b, bytes) and b" " not in b  # compact
    want = {"d1": 3.2, "d2": 0.64, "d3": 10.5, "d4": 321, "created": 1767225600000, "writeKey": KEY}
    assert json.loads(b) == want
    assert json.loads(record.body(KEY, {})) == {"writeKey": KEY}
    assert json.loads(record.body(KEY, {"writeKey": "other", "d1": 1})) == {"writeKey": KEY, "d1": 1}
    assert rec == record.make_record(3.2, 640, 10.5, 321, created_ms=1767225600000)  # not changed


def test_array_head():
    head = record.array_head(KEY)
    assert head == b'{"writeKey":"0123456789abcdef","data":['
    assert json.loads(head + b'{"d1":1.0},{"d2":2}]}') == {"writeKey": KEY, "data": [{"d1": 1.0}, {"d2": 2}]}


def test_write_key_never_in_errors():
    for bad in (b"0123456789abcdef", 1234567890123456, None):
        try:
            record.body(bad, {})
            raise AssertionError("no TypeError")
        except TypeError as e:
            assert "0123456789abcdef" not in str(e) and "1234567890123456" not in str(e)
        try:
            record.array_head(bad)
            raise AssertionError("no TypeError")
        except TypeError as e:
            assert "0123456789abcdef" not in str(e)


def test_url():
    assert record.url("http://ambidata.io", 12345) == "http://ambidata.io/api/v2/channels/12345/data"
    assert (
        record.url("http://127.0.0.1:8080/", "9", True) == "http://127.0.0.1:8080/api/v2/channels/9/dataarray"
    )


def test_limiter_interval_is_strict():
    lim = Limiter()
    assert lim.room(T0) == 3000
    lim.spend(T0)
    assert lim.room(T0 + 5) == 0  # whole seconds: 5 may be 4.001 s in reality
    assert lim.room(T0 + 6) == 2999
    assert lim.room(T0 + 3) == 0
    if 16777217.0 != 16777216.0:  # a float clock (host mode); the ESP32's wall() is whole seconds
        assert lim.room(T0 + 5.01) == 2999


def test_limiter_daily_limit_and_bulk():
    lim = Limiter(min_interval_s=5, daily_limit=3000, day_offsets_s=(0,))
    t = T0 + 3600  # 01:00 UTC
    lim.spend(t, 2500)
    assert lim.room(t + 10) == 500
    lim.spend(t + 10, 500)
    assert lim.room(t + 20) == 0
    assert lim.used_today(t + 20) == 3000
    nxt = T0 + DAY  # next UTC midnight
    assert lim.room(nxt - 1) == 0
    assert lim.room(nxt) == 3000


def test_limiter_near_the_daily_limit():
    lim = Limiter(min_interval_s=5, daily_limit=3000)
    lim.spend(T0, 250)
    for i in range(1, 11):
        lim.spend(T0 + i * 6, 275)
    assert lim.used_today(T0 + 100) == 3000 and lim.room(T0 + 100) == 0  # 250 + 10 x 275
    lim2 = Limiter(daily_limit=3000)
    lim2.spend(T0, 2992)
    assert lim2.room(T0 + 6) == 8  # what still fits, not a full batch


def test_limiter_counts_utc_and_jst_days():
    lim = Limiter(daily_limit=100)
    # 14:00 UTC = 23:00 JST: spend 100 on both the UTC day and the JST day
    lim.spend(T0 + 14 * 3600, 100)
    # 15:00 UTC = 00:00 JST next day: the JST day rolled but the UTC day did not
    assert lim.room(T0 + 15 * 3600) == 0
    # 00:00 UTC next day = 09:00 JST: both rolled since the spend
    assert lim.room(T0 + DAY) == 100
    lim2 = Limiter(daily_limit=100)
    lim2.spend(T0 + 23 * 3600, 100)  # 23:00 UTC = 08:00 JST on the next JST day
    assert lim2.room(T0 + DAY) == 0  # the UTC day rolled, the JST day did not
    assert lim2.room(T0 + DAY + 15 * 3600 - 1) == 0  # 23:59:59 JST
    assert lim2.room(T0 + DAY + 15 * 3600) == 100  # 00:00 JST: both rolled


def test_limiter_clock_back_and_state():
    lim = Limiter(daily_limit=10)
    lim.spend(T0 + 100, 10)
    assert lim.room(T0 + 100 - DAY) == 0  # clock stepped back a day: no early reset
    saved = json.loads(json.dumps(lim.state()))
    assert saved == [T0 + 100, T0 // DAY, (T0 + 32400) // DAY, 10, 10]  # the format in the store
    fresh = Limiter(daily_limit=10)
    fresh.restore(saved)
    assert fresh.room(T0 + 200) == 0
    assert fresh.room(T0 + DAY) == 10
    for junk in (None, [], [1, 2], "x", [None, "a", 1, 2, 3], {"a": 1}, [None, 1, 1, 5]):
        other = Limiter(daily_limit=10)
        other.restore(junk)
        assert other.state() == [None, -1, -1, 0, 0] and other.room(T0) == 10
    other = Limiter(daily_limit=10)
    other.restore([None, None, 1, None, 5.0])  # nulls from an older store: defaults
    assert other.state() == [None, -1, 1, 0, 5]
