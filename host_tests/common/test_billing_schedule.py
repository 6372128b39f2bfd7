"""Meter-reading days that move: collect_date as a per-month schedule (runs on MicroPython too)."""

import billing
from billing import parse
from testkit import raises

# December 2026 read on the 21st, January 2027 on the 22nd, every other month on the 20th
RD = parse.schedule({"2026-12": 21, "2027-01": 22, "default": 20})


def test_schedule_parsed():
    assert RD == {2026 * 12 + 11: 21, 2027 * 12: 22, 0: 20}
    assert parse.schedule(20) == 20
    assert parse.schedule("20") == 20  # the earlier monitor's string
    assert billing.reading_date(RD, 2026, 12) == 21
    assert billing.reading_date(RD, 2027, 1) == 22
    assert billing.reading_date(RD, 2027, 2) == 20
    assert billing.reading_date({0: 31}, 2027, 2) == 28  # clamped to the month


def test_periods_follow_the_schedule():
    # 2026-12-20: December's reading is on the 21st, so the period began with November's (20th)
    assert billing.billing_period_start(RD, 2026, 12, 20) == (2026, 11, 20)
    assert billing.billing_period_end(RD, 2026, 12, 20) == (2026, 12, 20)
    assert billing.next_reading(RD, 2026, 12, 20) == (2026, 12, 21)
    # 2026-12-21 .. 2027-01-21: 32 days, closed by the reading of 2027-01-22 (the January bill)
    assert billing.billing_period_start(RD, 2026, 12, 21) == (2026, 12, 21)
    assert billing.billing_period_end(RD, 2026, 12, 21) == (2027, 1, 21)
    assert billing.next_reading(RD, 2027, 1, 21) == (2027, 1, 22)
    assert billing.days_since_period_start(RD, 2027, 1, 21) == 31  # 10 days of December + 21
    # 2027-01-22 .. 2027-02-19 (February back to the 20th): 29 days
    assert billing.billing_period_start(RD, 2027, 2, 19) == (2027, 1, 22)
    assert billing.billing_period_end(RD, 2027, 1, 22) == (2027, 2, 19)
    assert billing.billing_period_start(RD, 2027, 2, 20) == (2027, 2, 20)


def test_every_day_of_two_years_is_in_exactly_one_period():
    n0 = billing.days_from_civil(2026, 6, 1)
    prev = None
    for n in range(n0, n0 + 730):
        y, m, d = billing.civil_from_days(n)
        s = billing.billing_period_start(RD, y, m, d)
        e = billing.billing_period_end(RD, y, m, d)
        assert billing.days_from_civil(*s) <= n <= billing.days_from_civil(*e)
        if prev is not None and s != prev[0]:
            assert billing.days_from_civil(*s) == billing.days_from_civil(*prev[1]) + 1  # no gap
        prev = (s, e)


def test_schedule_errors():
    for v, words in (
        ({"2026-12": 21}, 'missing "default"'),
        ({"2026-12": 32, "default": 20}, "1 to 31"),
        ({"2026/12": 21, "default": 20}, "YYYY-MM"),
        ({"default": "20"}, "1 to 31"),
        (0, "1 to 31"),
        ([20], "YYYY-MM"),
    ):
        e = raises(ValueError, parse.schedule, v)
        assert words in str(e), (v, str(e))
