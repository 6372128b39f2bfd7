"""billing.holidays against the Cabinet Office's published dates (runs on MicroPython too).

The dates below are the Cabinet Office's list of national holidays and
holidays (内閣府「国民の祝日について」, www8.cao.go.jp/chosei/shukujitsu/gaiyou.html,
its data file syukujitsu.csv as published in 2026 with the 2027 dates),
2022-2027, as MMDD. They were typed from that file, not computed.
"""

from billing import days_from_civil, days_in_month, holidays

CAO = {
    2022: "0101 0110 0211 0223 0321 0429 0503 0504 0505 0718 0811 0919 0923 1010 1103 1123",
    2023: "0101 0102 0109 0211 0223 0321 0429 0503 0504 0505 0717 0811 0918 0923 1009 1103 1123",
    2024: "0101 0108 0211 0212 0223 0320 0429 0503 0504 0505 0506 0715 0811 0812 0916 0922 0923 "
    "1014 1103 1104 1123",
    2025: "0101 0113 0211 0223 0224 0320 0429 0503 0504 0505 0506 0721 0811 0915 0923 1013 1103 1123 1124",
    2026: "0101 0112 0211 0223 0320 0429 0503 0504 0505 0506 0720 0811 0921 0922 0923 1012 1103 1123",
    2027: "0101 0111 0211 0223 0321 0322 0429 0503 0504 0505 0719 0811 0920 0923 1011 1103 1123",
}


def _year(y):
    out = []
    for m in range(1, 13):
        for d in range(1, days_in_month(y, m) + 1):
            if holidays.is_holiday(y, m, d):
                out.append("%02d%02d" % (m, d))
    return " ".join(out)


def test_cabinet_office_2022_to_2027():
    for y in sorted(CAO):
        got = _year(y)
        assert got == CAO[y], (y, got)


def test_weekday():
    assert holidays.weekday(1970, 1, 1) == 3  # a Thursday
    assert holidays.weekday(2026, 5, 3) == 6  # Sunday (hence 5/6 is a substitute holiday)
    assert holidays.weekday(2026, 9, 21) == 0  # Monday (敬老の日)


def test_each_rule_by_name():
    # 2026 (calendar of 2026): each kind of holiday once
    assert holidays.is_national(2026, 1, 12)  # 成人の日: 2nd Monday (1/5 is the 1st)
    assert not holidays.is_national(2026, 1, 5)  # 1st Monday: no
    assert holidays.is_national(2026, 3, 20)  # 春分の日
    assert not holidays.is_national(2026, 3, 21)
    assert holidays.is_national(2026, 9, 23)  # 秋分の日
    assert not holidays.is_national(2026, 5, 6)  # substitute: a holiday, not a 祝日
    assert holidays.is_holiday(2026, 5, 6)  # 5/3 Sunday; 5/4, 5/5 holidays -> next free day 5/6
    assert not holidays.is_national(2026, 9, 22)
    assert holidays.is_holiday(2026, 9, 22)  # citizens' holiday between 9/21 and 9/23
    assert not holidays.is_holiday(2026, 5, 7)
    assert not holidays.is_holiday(2026, 9, 24)
    # a Saturday is not a holiday by itself
    assert holidays.weekday(2026, 5, 2) == 5 and not holidays.is_holiday(2026, 5, 2)


def test_equinox_formula_by_hand():
    # 2026: t = 46; (20843100 + 242194*46 = 31984024) // 10^6 = 31; 31 - 46//4 (11) = 20
    assert holidays.equinox(2026, 3) == 20
    # (23248800 + 11140924 = 34389724) // 10^6 = 34; 34 - 11 = 23
    assert holidays.equinox(2026, 9) == 23
    # 2024: t = 44; (23248800 + 10656536 = 33905336) // 10^6 = 33; 33 - 11 = 22
    assert holidays.equinox(2024, 9) == 22
    # 2099: t = 119; (20843100 + 28821086 = 49664186) // 10^6 = 49; 49 - 29 = 20
    assert holidays.equinox(2099, 3) == 20


def test_invariants_2028_2099():
    # what the law implies every year, where no published list exists yet
    for y in range(2028, 2100):
        national = 0
        for m in range(1, 13):
            for d in range(1, days_in_month(y, m) + 1):
                if holidays.is_national(y, m, d):
                    national += 1
                    assert holidays.is_holiday(y, m, d)
        assert national == 16, (y, national)
        assert 19 <= holidays.equinox(y, 3) <= 21, y
        assert 22 <= holidays.equinox(y, 9) <= 24, y
        # 5/3 on a Sunday: 5/6 is the substitute holiday
        if holidays.weekday(y, 5, 3) == 6:
            assert holidays.is_holiday(y, 5, 6), y
        # 1/1 on a Sunday: 1/2 is the substitute holiday
        n = days_from_civil(y, 1, 1)
        assert holidays.is_holiday(y, 1, 2) == ((n + 3) % 7 == 6), y
