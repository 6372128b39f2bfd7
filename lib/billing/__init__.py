"""Calendar arithmetic for the billing period, without datetime.

The billing period starts ON the meter-reading day (検針日, 1-31) and runs
to the day before the next reading day. A reading day that a month lacks
(31 in April, 29-31 in February) is clamped to that month's last day.
reading_day is an int 1-31, or a schedule of days that move from month to
month: {y * 12 + m - 1: day, ..., 0: fallback day} (billing.parse.schedule()
makes it from the config's {"2026-12": 21, ..., "default": 20}). The bill
month of a period (its "X月分") is the month of the reading that closes it.

Dates are (y, m, d) tuples in local time. Day numbers count days since
1970-01-01 (civil-from-days / days-from-civil, after H. Hinnant), valid
for the proleptic Gregorian calendar; tested for 1970-2100.
"""

_DIM = b"\x1f\x1c\x1f\x1e\x1f\x1e\x1f\x1f\x1e\x1f\x1e\x1f"  # 31 28 31 30 ...


def is_leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_in_month(y, m):
    if m == 2 and is_leap(y):
        return 29
    return _DIM[m - 1]


def days_from_civil(y, m, d):
    """Day number of (y, m, d): days since 1970-01-01 (negative before)."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(n):
    """(y, m, d) of day number n (days since 1970-01-01)."""
    n += 719468
    era = (n if n >= 0 else n - 146096) // 146097
    doe = n - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (yoe + era * 400 + (1 if m <= 2 else 0), m, d)


def local_date(unix_s, utc_offset_s):
    """(y, m, d, hh, mm, ss) local time of unix_s (UTC seconds) at utc_offset_s (s, JST = 32400)."""
    t = int(unix_s) + utc_offset_s
    days = t // 86400
    s = t - days * 86400
    y, m, d = civil_from_days(days)
    return (y, m, d, s // 3600, s // 60 % 60, s % 60)


def reading_date(reading_day, y, m):
    """Day of month m of year y on which the meter is read (clamped to the month's length)."""
    if type(reading_day) is dict:
        d = reading_day.get(y * 12 + m - 1)
        if d is None:
            d = reading_day[0]
    else:
        d = reading_day
    if type(d) is not int or not 1 <= d <= 31:
        raise ValueError("reading day must be an int 1..31")
    return min(d, days_in_month(y, m))


def _prev_month(y, m):
    return (y - 1, 12) if m == 1 else (y, m - 1)


def _next_month(y, m):
    return (y + 1, 1) if m == 12 else (y, m + 1)


def billing_period_start(reading_day, y, m, d):
    """(y, m, d) of the first day of the billing period that holds (y, m, d)."""
    start = reading_date(reading_day, y, m)
    if d >= start:
        return (y, m, start)
    py, pm = _prev_month(y, m)
    return (py, pm, reading_date(reading_day, py, pm))


def billing_period_end(reading_day, y, m, d):
    """(y, m, d) of the last day of the billing period: the day before the next start."""
    sy, sm, _ = billing_period_start(reading_day, y, m, d)
    ny, nm = _next_month(sy, sm)
    return civil_from_days(days_from_civil(ny, nm, reading_date(reading_day, ny, nm)) - 1)


def next_reading(reading_day, y, m, d):
    """(y, m, d) of the reading that closes the period holding (y, m, d); its month is the bill month."""
    sy, sm, _ = billing_period_start(reading_day, y, m, d)
    ny, nm = _next_month(sy, sm)
    return (ny, nm, reading_date(reading_day, ny, nm))


def days_since_period_start(reading_day, y, m, d):
    """Days from the period start to (y, m, d): the E5 value (0 = today; at most 30, 35 with a schedule)."""
    sy, sm, sd = billing_period_start(reading_day, y, m, d)
    return days_from_civil(y, m, d) - days_from_civil(sy, sm, sd)
