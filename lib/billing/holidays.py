"""Japanese public holidays, computed from the rules: no table of years.

The Act on National Holidays (国民の祝日に関する法律) as in force since 2020:
- fixed days: 1/1, 2/11, 2/23, 4/29, 5/3, 5/4, 5/5, 8/11, 11/3, 11/23;
- Happy Monday days: 2nd Monday of January and October, 3rd Monday of
  July and September;
- the vernal and autumnal equinox days (春分日, 秋分日), by the usual
  approximation of the equinox date for 1980-2099:
  day = int(20.8431 + 0.242194 (y - 1980)) - int((y - 1980) / 4) in March,
  23.2488 instead of 20.8431 in September (integers here, scaled by 10^6);
- substitute holiday (article 3-2): a holiday on a Sunday makes the next
  day that is not a holiday a holiday;
- citizens' holiday (article 3-3): a day between two holidays is one.

Right for 2022-2099 (tested against the Cabinet Office's list for
2022-2027). Not modelled: the one-off moves of 2019-2021 (enthronement,
Olympic Games) and the rules before 2020.
"""

from billing import civil_from_days, days_from_civil

# month, day of the fixed holidays
_FIXED = b"\x01\x01\x02\x0b\x02\x17\x04\x1d\x05\x03\x05\x04\x05\x05\x08\x0b\x0b\x03\x0b\x17"
# month, week of the Happy Monday holidays
_MONDAY = b"\x01\x02\x07\x03\x09\x03\x0a\x02"


def weekday(y, m, d):
    """Day of the week of (y, m, d): 0 = Monday ... 6 = Sunday."""
    return (days_from_civil(y, m, d) + 3) % 7  # 1970-01-01 was a Thursday


def equinox(y, m):
    """Day of March (m=3) or September (m=9) that is the equinox holiday of year y (1980-2099)."""
    t = y - 1980
    base = 20843100 if m == 3 else 23248800
    return (base + 242194 * t) // 1000000 - t // 4


def is_national(y, m, d):
    """True on a national holiday proper (国民の祝日), without substitute or citizens' holidays."""
    for i in range(0, len(_FIXED), 2):
        if _FIXED[i] == m and _FIXED[i + 1] == d:
            return True
    if m == 3 or m == 9:
        if d == equinox(y, m):
            return True
    if weekday(y, m, d) == 0:
        week = (d - 1) // 7 + 1
        for i in range(0, len(_MONDAY), 2):
            if _MONDAY[i] == m and _MONDAY[i + 1] == week:
                return True
    return False


def _national_n(n):
    y, m, d = civil_from_days(n)
    return is_national(y, m, d)


def is_holiday(y, m, d):
    """True on a national holiday, a substitute holiday or a citizens' holiday (Sundays aside)."""
    if is_national(y, m, d):
        return True
    n = days_from_civil(y, m, d)
    k = n - 1
    while _national_n(k):  # the run of holidays just before: did one fall on a Sunday?
        if (k + 3) % 7 == 6:
            return True
        k -= 1
    return k < n - 1 and _national_n(n + 1)
