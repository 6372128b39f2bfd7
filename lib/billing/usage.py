"""The billing period priced from the meter's 30-minute history (rare code: use through lazy.call).

History: one day = 48 ints, Wh used in each half hour from 00:00 (None
where the meter has no figure). Days are cached on flash in one file of
40 fixed-size records, a ring indexed by day number, so that a reboot
does not fetch the month again. A record is 102 bytes: day number (3
bytes, little-endian), times fetched (1 byte), 48 x uint16 Wh (0xFFFF =
none), checksum (uint16: 0x5A5A + the sum of the 100 bytes before).

store_day() writes a day, wanted() says which days to fetch (E5 days
ago), refresh() builds the Period that lib/app/bill.py prices each half
hour, price() prices a period straight from days of history.
"""

from billing import billing_period_start, civil_from_days, days_from_civil, next_reading
from billing.tariff import Period

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython

    def const(x):
        return x


_DAYS = const(40)  # records: the longest period (35 days) and the 7 days before today
_REC = const(102)  # bytes a record
_NONE = const(0xFFFF)  # Wh of a half hour without a figure
_TRIES = const(3)  # fetches of a day with gaps before it is taken as it is


def band(tariff, off, m, slot):
    """Index of the tariff's band for half hour slot (0-47) in month m on a day off (True) or a work day."""
    bands = tariff.bands
    if not bands:
        return 0
    dm = 2 if off else 1
    bit = 1 << slot % 24
    for i in range(len(bands)):
        b = bands[i]
        if b[0] & dm and b[1] >> (m - 1) & 1 and (b[3] if slot >= 24 else b[2]) & bit:
            return i
    return len(bands) - 1  # billing.parse checks that every half hour has a band


def day_off(tariff, y, m, d):
    """True when (y, m, d) is a day off for the tariff's bands (weekend, public holiday, listed day)."""
    from billing import holidays  # only for a tariff with bands: a flat one never loads it

    mask = tariff.off_mask
    wd = holidays.weekday(y, m, d)
    if wd == 5 and mask & 1 or wd == 6 and mask & 2 or m * 100 + d in tariff.off_days:
        return True
    return bool(mask & 4) and holidays.is_holiday(y, m, d)


def _open(path):
    """The cache file open for reading and writing; None when it is missing (or path is None)."""
    if path is None:
        return None
    try:
        return open(path, "r+b")
    except OSError:
        return None


def _create(path):
    zero = bytes(_REC)
    with open(path, "wb") as f:
        for _ in range(_DAYS):
            f.write(zero)
    return open(path, "r+b")


def _sum(buf):
    c = 0x5A5A
    for i in range(_REC - 2):
        c += buf[i]
    return c & 0xFFFF


def _read(f, n, buf):
    """Times day n was fetched (>= 1) with its record in buf, or -1 when the file lacks day n."""
    if f is None:
        return -1
    try:
        f.seek(n % _DAYS * _REC)
        if f.readinto(buf) != _REC or buf[0] | buf[1] << 8 | buf[2] << 16 != n:
            return -1
    except OSError:  # a failing flash: as if the day were not cached
        return -1
    if buf[_REC - 2] | buf[_REC - 1] << 8 != _sum(buf):
        return -1
    return buf[3]


def _values(buf, out):
    """The record's 48 Wh into list out (None where missing); the number missing."""
    gaps = 0
    for s in range(48):
        v = buf[4 + 2 * s] | buf[5 + 2 * s] << 8
        if v == _NONE:
            v = None
            gaps += 1
        out[s] = v
    return gaps


def _gaps(buf):
    """Half hours of the record in buf without a figure."""
    gaps = 0
    for s in range(48):
        if buf[4 + 2 * s] == 255 and buf[5 + 2 * s] == 255:
            gaps += 1
    return gaps


def store_day(path, y, m, d, wh48, upto=48):
    """Cache one day of history (48 Wh, None where missing; from half hour upto on: taken as missing);
    False when the flash write failed.

    A half hour the new answer lacks keeps the figure cached before. The
    fetch count restarts at 1 whenever an answer fills a gap (today's
    history grows), else it counts the fetches that brought nothing new.
    """
    n = days_from_civil(y, m, d)
    buf = bytearray(_REC)
    old = [None] * 48
    try:
        f = _open(path) or _create(path)
        try:
            t = _read(f, n, buf)
            before = _values(buf, old) if t > 0 else 48
            gaps = 0
            for s in range(48):
                v = wh48[s] if s < upto else None
                v = old[s] if v is None else max(0, min(int(v), _NONE - 1))
                if v is None:
                    v = _NONE
                    gaps += 1
                buf[4 + 2 * s] = v & 255
                buf[5 + 2 * s] = v >> 8
            buf[0] = n & 255
            buf[1] = n >> 8 & 255
            buf[2] = n >> 16 & 255
            buf[3] = 1 if t <= 0 or gaps < before else min(t + 1, 255)
            c = _sum(buf)
            buf[_REC - 2] = c & 255
            buf[_REC - 1] = c >> 8
            f.seek(n % _DAYS * _REC)
            f.write(buf)
        finally:
            f.close()
    except OSError:
        return False
    return True


def load_day(path, y, m, d):
    """The cached 48 Wh of (y, m, d) (None where missing), or None when the day is not cached."""
    buf = bytearray(_REC)
    f = _open(path)
    try:
        if _read(f, days_from_civil(y, m, d), buf) < 0:
            return None
    finally:
        if f is not None:
            f.close()
    out = [None] * 48
    _values(buf, out)
    return out


def wanted(path, reading_day, y, m, d, limit=3):
    """Days ago (E5: 1, 2, ...) to fetch, newest first, at most limit: the days of the period before
    today and the 7 days before today that the cache lacks (or holds with gaps, fetched < 3 times)."""
    n = days_from_civil(y, m, d)
    sy, sm, sd = billing_period_start(reading_day, y, m, d)
    first = min(days_from_civil(sy, sm, sd), n - 7)
    buf = bytearray(_REC)
    out = []
    f = _open(path)
    try:
        for k in range(n - 1, first - 1, -1):
            t = _read(f, k, buf)
            if t < 0 or t < _TRIES and _gaps(buf):
                out.append(n - k)
                if len(out) >= limit:
                    break
    finally:
        if f is not None:
            f.close()
    return out


def _add(tariff, wh, base, off, m, vals, upto):
    """Add the first upto half hours of a day in month m (off: a day off) to wh from index base; the half
    hours missing."""
    gaps = 0
    bands = tariff.bands
    for s in range(upto):
        v = vals[s]
        if v is None:
            gaps += 1
        elif bands:
            wh[base + band(tariff, off, m, s)] += v
        else:
            wh[base] += v
    return gaps


def price(tariff, contract_amperage, reading_day, days, now, live_wh=0):
    """(yen, flags, wh) of the period holding now = (y, m, d, hh, mm), from history alone.

    days: (y, m, d, wh48) of the days of the period (others are ignored;
    today counts up to the half hour in progress); live_wh: Wh of the half
    hour in progress that the history lacks, priced in its band. wh: Wh per
    band in the period's first month, then in the second.
    """
    y, m, d, hh, mm = now
    sy, sm, sd = billing_period_start(reading_day, y, m, d)
    start = days_from_civil(sy, sm, sd)
    n = days_from_civil(y, m, d)
    slot = hh * 2 + mm // 30
    nb = tariff.nbands
    wh = [0] * (2 * nb)
    for dy, dm, dd, vals in days:
        k = days_from_civil(dy, dm, dd)
        if start <= k <= n:
            off = day_off(tariff, dy, dm, dd) if tariff.bands else False
            b = 0 if dy == sy and dm == sm else nb
            _add(tariff, wh, b, off, dm, vals, slot + 1 if k == n else 48)
    off = day_off(tariff, y, m, d) if tariff.bands else False
    wh[(0 if (y, m) == (sy, sm) else nb) + band(tariff, off, m, slot)] += live_wh
    yen, flags = tariff.bill(contract_amperage, sy, sm, wh)
    return yen, flags, wh


def refresh(tariff, path, reading_day, now, today=None):
    """The Period for now = (y, m, d, hh, mm): history from the cache file at path, today's from
    today = (y, m, d, wh48) (the session's; ignored when its date is not now's).

    Forecast: each half hour of the day gets the mean of that half hour
    over the last 7 cached days before today (a half hour none of them
    holds: the mean of all their half hours); the rest of the period is
    priced with that profile, day by day in its own band, from the end of
    the half hour in progress (and the rest of that one, pro rata).
    """
    y, m, d, hh, mm = now
    n = days_from_civil(y, m, d)
    slot = hh * 2 + mm // 30
    sy, sm, sd = billing_period_start(reading_day, y, m, d)
    ny, nm, nd = next_reading(reading_day, y, m, d)
    nb = tariff.nbands
    bands = tariff.bands  # None: no day off, no band to look up, no date tuple made per day
    nxt = days_from_civil(sy + sm // 12, sm % 12 + 1, 1)  # the first day of the period's second month
    p = Period()
    p.sy, p.sm, p.sd, p.ny, p.nm, p.nd = sy, sm, sd, ny, nm, nd
    p.at = n * 48 + slot
    wh = [0] * (2 * nb)
    buf = bytearray(_REC)  # the one record buffer: the file is read a record at a time
    vals = [None] * 48
    prof = [0] * 48  # Wh per half hour of the day, summed over the pace days
    cnt = bytearray(48)
    days = 0
    missing = 0
    f = _open(path)
    try:
        for k in range(days_from_civil(sy, sm, sd), n):
            if _read(f, k, buf) < 0:
                missing += 48
                continue
            _values(buf, vals)
            off = False
            dm = 0
            if bands:
                dy, dm, dd = civil_from_days(k)
                off = day_off(tariff, dy, dm, dd)
            missing += _add(tariff, wh, 0 if k < nxt else nb, off, dm, vals, 48)
        for k in range(n - 1, n - 8, -1):
            if _read(f, k, buf) >= 0 and _values(buf, vals) < 48:
                days += 1
                for s in range(48):
                    v = vals[s]
                    if v is not None:
                        prof[s] += v
                        cnt[s] += 1
    finally:
        if f is not None:
            f.close()
    off = day_off(tariff, y, m, d) if bands else False
    base = 0 if y == sy and m == sm else nb
    p.today = 0
    if today is not None and today[0] == y and today[1] == m and today[2] == d:
        h = sum(wh)
        gaps = _add(tariff, wh, base, off, m, today[3], slot + 1)
        p.today = sum(wh) - h
        missing += gaps - (today[3][slot] is None)
    else:
        missing += slot
    p.wh = wh
    p.hist = sum(wh)
    p.live = base + band(tariff, off, m, slot)
    p.missing = missing
    p.pace_days = days
    if days:
        fill = sum(prof) * 64 // sum(cnt)
        for s in range(48):  # mean Wh of each half hour, in 1/64 Wh
            prof[s] = prof[s] * 64 // cnt[s] if cnt[s] else fill
        ext = [0] * (2 * nb)
        ext[p.live] += prof[slot] * (30 - mm % 30) // 30  # the rest of the half hour in progress
        for s in range(slot + 1, 48):
            ext[base + band(tariff, off, m, s)] += prof[s]
        whole = sum(prof)  # a day of the profile: one band without bands
        for k in range(n + 1, days_from_civil(ny, nm, nd)):
            b = 0 if k < nxt else nb
            if bands:
                dy, dm, dd = civil_from_days(k)
                o = day_off(tariff, dy, dm, dd)
                for s in range(48):
                    ext[b + band(tariff, o, dm, s)] += prof[s]
            else:
                ext[b] += whole
        p.extra = [x // 64 for x in ext]
    return p
