"""billing.py against CPython's datetime over whole calendar spans."""

import calendar
import datetime

import billing
import pytest
from hypothesis import given
from hypothesis import strategies as st

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _is_start(rd, day):
    """Reference: a period starts on day iff it is the reading day clamped to its month."""
    return day.day == min(rd, calendar.monthrange(day.year, day.month)[1])


def _ref_period(rd, day):
    """(start, end) by walking the calendar one day at a time (independent of billing.py)."""
    one = datetime.timedelta(days=1)
    start = day
    while not _is_start(rd, start):
        start -= one
    nxt = day + one
    while not _is_start(rd, nxt):
        nxt += one
    return start, nxt - one


def _t(d):
    return (d.year, d.month, d.day)


def test_periods_every_day_2023_to_2029_every_reading_day():
    day = datetime.date(2023, 1, 1)
    last = datetime.date(2029, 12, 31)
    one = datetime.timedelta(days=1)
    checked = 0
    while day <= last:
        for rd in range(1, 32):
            start, end = _ref_period(rd, day)
            args = (rd, day.year, day.month, day.day)
            assert billing.billing_period_start(*args) == _t(start), args
            assert billing.billing_period_end(*args) == _t(end), args
            since = billing.days_since_period_start(*args)
            assert since == (day - start).days, args
            assert 0 <= since <= 30
            assert 28 <= (end - start).days + 1 <= 31
            checked += 1
        day += one
    assert checked == (7 * 365 + 2) * 31  # 2024 and 2028 are leap years


@pytest.mark.parametrize(
    "rd, date, start, end",
    [
        # 31 in a non-leap February clamps to the 28th; March's period starts on the 31st
        (31, (2025, 2, 27), (2025, 1, 31), (2025, 2, 27)),
        (31, (2025, 2, 28), (2025, 2, 28), (2025, 3, 30)),
        (31, (2025, 3, 30), (2025, 2, 28), (2025, 3, 30)),
        (31, (2025, 3, 31), (2025, 3, 31), (2025, 4, 29)),
        (31, (2025, 4, 30), (2025, 4, 30), (2025, 5, 30)),
        # 29 in February: leap 2024 and 2000 have it, 2025 and 2100 do not
        (29, (2024, 2, 29), (2024, 2, 29), (2024, 3, 28)),
        (29, (2024, 2, 28), (2024, 1, 29), (2024, 2, 28)),
        (29, (2025, 2, 28), (2025, 2, 28), (2025, 3, 28)),
        (29, (2000, 2, 29), (2000, 2, 29), (2000, 3, 28)),
        (29, (2100, 2, 28), (2100, 2, 28), (2100, 3, 28)),
        (30, (2100, 3, 1), (2100, 2, 28), (2100, 3, 29)),
        # December / January
        (22, (2025, 1, 5), (2024, 12, 22), (2025, 1, 21)),
        (22, (2024, 12, 22), (2024, 12, 22), (2025, 1, 21)),
        (1, (2025, 1, 1), (2025, 1, 1), (2025, 1, 31)),
        (1, (2024, 12, 31), (2024, 12, 1), (2024, 12, 31)),
    ],
)
def test_edge_dates(rd, date, start, end):
    assert billing.billing_period_start(rd, *date) == start
    assert billing.billing_period_end(rd, *date) == end
    assert billing.days_since_period_start(rd, *date) == (datetime.date(*date) - datetime.date(*start)).days


def test_days_in_month_and_leap_years_1970_2100():
    for y in range(1970, 2101):
        assert billing.is_leap(y) == calendar.isleap(y)
        for m in range(1, 13):
            assert billing.days_in_month(y, m) == calendar.monthrange(y, m)[1]
    assert billing.is_leap(2000) and billing.is_leap(2024)
    assert not billing.is_leap(2100) and not billing.is_leap(2025)


def test_day_numbers_round_trip_1970_2100():
    day = datetime.date(1970, 1, 1)
    n = 0
    while day.year <= 2100:
        assert billing.days_from_civil(day.year, day.month, day.day) == n
        assert billing.civil_from_days(n) == _t(day)
        day += datetime.timedelta(days=1)
        n += 1


def _ref_local(unix_s, off):
    d = EPOCH + datetime.timedelta(seconds=unix_s + off)
    return (d.year, d.month, d.day, d.hour, d.minute, d.second)


def test_local_date_hourly_1970_2100_jst_and_utc():
    end = int((datetime.datetime(2101, 1, 1, tzinfo=datetime.UTC) - EPOCH).total_seconds())
    for t in range(0, end, 3600 * 7 + 59):  # odd step: every hour of day and minute drift
        for off in (32400, 0):
            assert billing.local_date(t, off) == _ref_local(t, off), (t, off)


def test_local_date_edges():
    # 2024-12-31 15:00:00 UTC = 2025-01-01 00:00:00 JST
    t = int((datetime.datetime(2024, 12, 31, 15, tzinfo=datetime.UTC) - EPOCH).total_seconds())
    assert billing.local_date(t, 32400) == (2025, 1, 1, 0, 0, 0)
    assert billing.local_date(t - 1, 32400) == (2024, 12, 31, 23, 59, 59)
    assert billing.local_date(0, 0) == (1970, 1, 1, 0, 0, 0)
    assert billing.local_date(0, -3600) == (1969, 12, 31, 23, 0, 0)
    # 2100 is not a leap year: Feb 28 -> Mar 1
    t = int((datetime.datetime(2100, 2, 28, 23, 59, 59, tzinfo=datetime.UTC) - EPOCH).total_seconds())
    assert billing.local_date(t + 1, 0) == (2100, 3, 1, 0, 0, 0)


@given(st.integers(0, 4133980799), st.integers(-12 * 3600, 14 * 3600))
def test_local_date_matches_datetime(t, off):
    assert billing.local_date(t, off) == _ref_local(t, off)


@pytest.mark.parametrize("bad", [0, 32, -1, "22", 22.0, None])
def test_bad_reading_day(bad):
    with pytest.raises(ValueError):
        billing.billing_period_start(bad, 2025, 1, 1)


def _ref_schedule_period(days_by_month, fallback, day):
    """(start, closing reading) by walking the calendar: a day is a reading day iff it is its month's
    scheduled day (or the fallback) clamped to the month (independent of billing.py)."""
    one = datetime.timedelta(days=1)

    def is_reading(x):
        rd = days_by_month.get((x.year, x.month), fallback)
        return x.day == min(rd, calendar.monthrange(x.year, x.month)[1])

    start = day
    while not is_reading(start):
        start -= one
    nxt = day + one
    while not is_reading(nxt):
        nxt += one
    return start, nxt


@given(
    st.dictionaries(st.tuples(st.integers(2026, 2027), st.integers(1, 12)), st.integers(1, 31), max_size=24),
    st.integers(1, 31),
    st.dates(datetime.date(2026, 2, 1), datetime.date(2027, 11, 30)),
)
def test_schedule_periods_match_a_calendar_walk(days_by_month, fallback, day):
    rd = {y * 12 + m - 1: d for (y, m), d in days_by_month.items()}
    rd[0] = fallback
    start, nxt = _ref_schedule_period(days_by_month, fallback, day)
    args = (rd, day.year, day.month, day.day)
    assert billing.billing_period_start(*args) == _t(start)
    assert billing.billing_period_end(*args) == _t(nxt - datetime.timedelta(days=1))
    assert billing.next_reading(*args) == _t(nxt)
    assert billing.days_since_period_start(*args) == (day - start).days
