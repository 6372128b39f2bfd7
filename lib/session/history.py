"""The meter's 30-min history (E2/E4): the fetches, their answers, the billing period's baseline.

Fetch is the session's second request slot while days wait: SetC E5 = days
ago, then Get E2 (+E4 for the baseline), each with its own deadline, so a
reading never waits for history. It plans on the session's _Days record d
(public attributes, see session._Days) and sends through the send(frame)
-> TID it is handed. The session loads this module when a day waits and
drops it (and the Fetch) when none does, so it is in the device's heap
only while history is fetched (a few times a day). Meter days are Japan
time (UTC+9) whatever the user's offset.
"""

import billing
import lazy
import log
import meter
from ticks import ticks_add

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_JST = const(32400)
_SETDAY = const(1)  # the step in flight
_GET = const(2)
_SET_MS = const(5000)  # SetC answer
_GET_MS = const(15000)  # an E2/E4 answer (194+ bytes)
_TRIES = const(2)  # sends per step before the fetch counts as failed
_SETC_SNA = const(0x51)  # ESVs
_GET_SNA = const(0x52)
_SET_RES = const(0x71)
_GET_RES = const(0x72)


class Fetch:
    """The history slot. d: the session's _Days; send(frame) -> TID; wall() -> Unix s or None
    (wall None: no wall clock);
    hist_epcs: [0xE2(, 0xE4)] for the baseline (a refused E4 is taken out); store: the baseline;
    counters: the session's (retries); now: ticks ms. busy: the step in flight (0: none) with
    its tid and until (ticks ms; the session moves it after a failed send); next: when the
    next fetch may start."""

    def __init__(self, d, send, wall, hist_epcs, store, counters, now):
        self.d = d
        self._send = send
        self._wall = wall
        self._hist_epcs = hist_epcs
        self._store = store
        self._counters = counters
        self.busy = 0
        self.tid = -1
        self.until = self.next = now
        self._frame = b""
        self._tries = 0

    def start(self, now):
        """Start the fetch for the first day waiting (later, around the meter's midnight)."""
        if plan(self.d, self._w(), self._hist_epcs):
            self._step(_SETDAY, self.d.setc, now)
        else:
            self.next = ticks_add(now, 60000)

    def _w(self):
        return self._wall and self._wall()

    def _step(self, step, frame, now):
        self.busy = step
        self._frame = frame
        self._tries = 0
        self._again(now)

    def _again(self, now):
        self._tries += 1
        self.until = ticks_add(now, _GET_MS if self.busy == _GET else _SET_MS)
        self.tid = self._send(self._frame)

    def timeout(self, now):
        if self._tries < _TRIES:
            self._counters["retries"] += 1
            self._again(now)
        else:
            self._failed(False, now)

    def _failed(self, refused, now):
        self.busy = 0
        self.next = ticks_add(now, failed(self.d, refused, self._w()))

    def answer(self, f, now, scale, latest):
        """The meter's frame f carrying our TID: None when its ESV is not an answer to the step,
        0 when nothing is to be shown, else (history or None, new baseline or None).
        scale: (coefficient, kWh per unit, digits) of D3/E1/D7; latest: the latest E0."""
        esv = f.esv
        if self.busy == _SETDAY:
            if esv == _SET_RES:
                self._step(_GET, self.d.get, now)
                return 0
            if esv == _SETC_SNA:
                self._failed(True, now)
                return 0
            return None
        if esv != _GET_RES and esv != _GET_SNA:
            return None
        self.busy = 0
        coef, unit, digits = scale
        got = answer(self.d, f.props, self._w(), digits, coef, unit, latest, self._hist_epcs, self._store)
        if got is None:
            self.next = ticks_add(now, failed(self.d, False, self._w()))
            return 0
        return got


def _jday(w):
    return None if w is None else (w + _JST) // 86400


def plan(d, w, hist_epcs):
    """Choose the fetch for the first entry waiting (the baseline's first, else the latest day).

    Sets d.day, d.jday, d.want, d.setc, d.get; False when nothing is to be fetched now (around
    the meter's midnight, 23:55-00:05 JST, its day may differ from ours; or nothing waits).
    """
    today = _jday(w)
    q = d.q
    for e in q[:]:  # entries too old for the meter's 100 days are dropped
        if (today is not None and e >= 0 and not 0 <= today - e <= 99) or (e >= 0 and today is None):
            q.remove(e)
    if not q:
        return False
    if w is not None and not 300 <= (w + _JST) % 86400 < 86100:
        return False
    e = d.base if d.base in q else max(q)  # the latest day first: its next day is fetched soonest
    k = -1 - e if e < 0 else today - e  # pyright: ignore[reportOptionalOperand]
    d.want = e
    n = d.next0
    if e >= 0 and k >= 1 and e != d.base and (n is None or n[0] != e + 1):
        k -= 1  # first the next day: the 23:30 half hour needs its 00:00 value
    d.day = k
    d.jday = None if today is None else today - k
    d.setc = lazy.call("meter.frames", "build", 0, 0x61, [(0xE5, bytes((k,)))])  # SetC
    d.get = lazy.call("meter.frames", "build_get", 0, hist_epcs if e == d.base else b"\xe2")
    return True


def failed(d, refused, w):
    """The fetch for d.want failed (refused: the meter refuses E5). ms until the next attempt."""
    if refused:
        log.warning("meter refuses E5 (history day)")  # none for an hour
        d.q = []
        d.base = None
        d.retry = (w or 0) + 3600
        return 3600000
    d.fails += 1
    e = d.want
    if d.fails >= 3 or e == d.base:
        d.fails = 0
        if e in d.q:
            d.q.remove(e)
        if e == d.base:
            d.base = None
            d.retry = (w or 0) + 600
    return 60000


def answer(d, props, w, digits, coef, unit, latest, hist_epcs, store):
    """The Get E2 (+E4) answer of the fetch in flight: (history or None, new baseline or None).

    history: (y, m, d, wh48) for the day waiting (None for the next day fetched only for its
    00:00 value); wh48: Wh used in each half hour (None where the meter has no data; today's
    half hour in progress up to latest, the latest E0). A refused E4 is taken out of hist_epcs;
    a new baseline [sy, sm, sd, E2, E4, fy, fm, fd] is saved in the store. None: unusable.
    """
    k = d.day
    normal = reverse = None
    for epc, edt in props:
        if not edt:
            if epc == 0xE4 and epc in hist_epcs:
                log.info("meter refuses E4: no reverse baseline")
                hist_epcs.remove(epc)
            continue
        try:
            v = meter.decode(epc, edt)  # type: tuple  # pyright: ignore[reportAssignmentType]
        except ValueError:
            continue
        if v[0] != k:
            log.warning("history for day %d, asked for %d", v[0], k)
            return None
        if epc == 0xE2:
            normal = v[1]
        elif epc == 0xE4:
            reverse = v[1]
    if normal is None:
        return None
    jday = d.jday
    n = d.next0
    nxt = n[1] if n is not None and jday is not None and n[0] == jday + 1 else None
    if jday is not None and normal[0] is not None:
        d.next0 = (jday, normal[0])
    e = d.want
    if e >= 0 and jday != e:
        return None, None  # the next day, fetched for its 00:00 value
    if e in d.q:
        d.q.remove(e)
    d.fails = 0
    h = _usage(normal, k, nxt, latest, digits, coef, unit)
    h = (None, None, None, h) if jday is None else billing.civil_from_days(jday) + (h,)
    if e != d.base:
        return h, None
    d.base = None
    if normal[0] is None:
        d.retry = (w or 0) + 600  # 00:00 not recorded yet
        return h, None
    y, m, dd, sy, sm, sd = d.base_date
    base = [sy, sm, sd, normal[0], reverse[0] if reverse else None, y, m, dd]
    store.set("baseline", base)
    store.save()
    d.checked = _jday(w)
    log.info("baseline for the period from %d-%02d-%02d held", sy, sm, sd)
    return h, base


def _usage(raw, k, nxt, latest, digits, coef, unit):
    """48 x Wh from 49 cumulative counts (raw and nxt, the next day's 00:00)."""
    last = -1
    for i in range(48):
        if raw[i] is not None:
            last = i
    wrap = 10**digits if digits else 0
    wh = [None] * 48
    for i in range(48):
        a = raw[i]
        b = raw[i + 1] if i < 47 else nxt
        if a is None:
            continue
        if b is None and k == 0 and i == last and latest is not None:  # the half hour in progress
            x = latest - a
            if wrap:
                x %= wrap
            if not (wrap and x * 2 > wrap or not wrap and x < 0):  # else the reading predates the slot
                b = latest
        if b is None:
            continue
        kwh = meter.delta_kwh(b, a, digits, coef, unit)
        if kwh is not None:
            wh[i] = round(kwh * 1000)  # Wh: a small int
    return wh


def period(d, base, w, rd):
    """The billing period on JST day of w (reading day rd): the baseline tuple (sy, sm, sd) when
    base holds it, () when base is of an earlier period, else None; queues the baseline fetch
    (E2 at 00:00 of the period start) when the period started or once a day."""
    y, m, dd, _, _, _ = billing.local_date(w, _JST)
    sy, sm, sd = billing.billing_period_start(rd, y, m, dd)
    out = ()
    if base is not None and base[0] == sy and base[1] == sm and base[2] == sd:
        out = (sy, sm, sd)
        if base[5] == y and base[6] == m and base[7] == dd:
            d.checked = _jday(w)
            return out  # fetched today
    if d.base is None:
        e = billing.days_from_civil(sy, sm, sd)
        d.base = e
        d.base_date = (y, m, dd, sy, sm, sd)
        if e in d.q:
            d.q.remove(e)
        d.q.insert(0, e)
    return out
