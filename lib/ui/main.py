"""The main screen: power and the period's yen in big digits, for a display on the wall.

Rows, top to bottom: the billing period with its kWh and the clock; the power
(W or kW) with the reading's age, STALE / EXPORT and the current on its left;
the load bar (the larger phase against the contract); the yen ("est.") with
today's kWh on its left; the status line (a mark per link, or the error).
What does not fit beside a big number on 160x80 (the forecast, the export)
takes turns with what is there on odd View.tick.
"""

from ticks import ticks_diff

from ui import draw as d
from ui.draw import AMBER, CYAN, DARK, DIM, GREEN, GREY, RED, WHITE, YELLOW, text
from ui.view import STALE_S

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_LINK = {"ready": "ok", "start": "join", "scan": "join", "join": "join", "failed": "fail"}
_OK = const("\u2713")  # status marks in the small fonts
_FAIL = const("\u2717")
_WAIT = const("\u2026")
# the strings of the redraw being drawn: period, its kWh, export kWh, clock, power number, unit,
# age, age ago, A, A/contract, yen, forecast yen, today kWh, export kWh (large); STALE shown
_t = [None] * 15  # type: list


def fill(v, app, now):
    """The main screen's fields of v from app (lib/app/loop.py App); now: ticks (ms)."""
    s = app.session
    r = s.reading
    v.contract_a = app.amperage
    if r is not None:
        age = ticks_diff(now, r.t)
        v.power_w = r.power_w
        v.current_r_da = r.current_r_da
        v.current_t_da = r.current_t_da
        v.age_s = age // 1000
        v.stale = age >= STALE_S * 1000
    else:
        v.power_w = v.current_r_da = v.current_t_da = v.age_s = v.stale = None
    kwh = s.period_kwh
    v.period_kwh = kwh
    v.charge_yen = app.charge_yen if kwh is not None else None
    v.period = app.period()
    wall = app.wall()
    v.clock = None if wall is None else (wall + app.cfg["utc_offset_s"]) % 86400 // 60
    v.today_wh = app.today_wh()
    b = app.bill
    v.forecast_yen = b and b[3]
    v.export_kwh = s.period_reverse_kwh
    v.tick = app.draws
    status(v, app)


def status(v, app):
    """The status line's fields of v: link, wifi, ambient and the error that matters now."""
    s = app.session
    state = s.state
    v.link = _LINK.get(state, "wait")
    if app.network is None:
        v.wifi = "off"
    else:
        v.wifi = "ok" if app.wifi_up else ("down" if app.wifi_drops else "wait")
    amb = app.amb
    v.ambient = "off" if amb is None else amb.status()
    if state != "ready" and s.error:
        v.error = s.error
    elif amb is not None and amb.backoff_ms:
        v.error = amb.last_error
    else:
        v.error = None


def _line(fb, s, c, y, room, bottom):
    """Draw s in colour c at (0, y) when it fits room (px) and y + a line <= bottom: the next y,
    else y (left out: the next item may fit)."""
    small = d.S
    if y + small.height > bottom or d.width(small, s) > room:
        return y
    text(fb, small, s, 0, y, c)
    return y + small.height


def _link(fb, x, y, name, word):
    """Draw a link's name and a mark for its state word (none for "off": not in use); the next x."""
    if word == "off":
        return x
    small = d.S
    if word == "ok":
        m, c = _OK, GREEN
    elif word in ("down", "fail", "failed", "error"):
        m, c = _FAIL, RED
    else:
        m, c = _WAIT, AMBER
    x = text(fb, small, name, x, y, GREY)
    return text(fb, small, m, x, y, c) + small.widths[0]


def draw(fb, v):
    """Draw the main screen of v into fb (cleared; draw.setup done). One function per band:
    smaller pieces of bytecode find room in a fragmented heap more easily. On a panel drawn
    band by band (lib/ui/screens.py) a piece that is not in the band is skipped, and the
    strings are made once, in the first band, into _t, not in every band."""
    large = d.H >= 120
    stale = v.is_stale()
    py = d.S.height + (1 if large else 0)  # the power band
    bar_y = py + d.P.height + 1
    bar_h = 4 if large else 3
    # the phase the breaker minds: the larger magnitude (meters sign the current on export)
    da = None
    for x in (v.current_r_da, v.current_t_da):
        if x is not None:
            x = -x if x < 0 else x
            if da is None or x > da:
                da = x
    load = DIM if stale else d.load_colour(da, v.contract_a)
    t = _t
    if d.Y0 == 0:  # the first band (or the whole frame): the strings, t[14] set by _power()
        exp = v.export_kwh
        p = v.period
        c = v.clock
        t[4], t[5] = d.power_text(v.power_w)
        t[6] = t[7] = t[8] = t[9] = None
        if v.age_s is not None:
            t[6] = d.duration_text(v.age_s)
            t[7] = t[6] + " ago"
        if da is not None:
            t[8] = d.amps_text(da) + "A"
            t[9] = "%s/%dA" % (t[8], v.contract_a)
        yen = v.charge_yen
        fc = v.forecast_yen
        wh = v.today_wh
        t[0] = "--/--" if p is None else "%d/%d-%d/%d" % p
        t[1] = " " + d.kwh_text(v.period_kwh)
        t[2] = d.kwh_text(exp) if exp else None
        t[3] = "--:--" if c is None else "%d:%02d" % (c // 60, c % 60)
        t[10] = "--" if yen is None else "\u00a5" + d.yen_text(yen)
        t[11] = None if fc is None else "\u00a5" + d.yen_text(fc)
        t[12] = "--kWh" if wh is None else "%d.%dkWh" % ((wh + 50) // 1000, (wh + 50) // 100 % 10)
        t[13] = d.kwh_text(exp) + "kWh" if exp and large else None
        t[14] = False
    if d.shows(0, py):
        _top(fb, v, t, stale, large)
    if d.shows(py, bar_y - py):
        t[14] = _power(fb, v, t, stale, da, load, py, bar_y)  # (a band above the status line's)
    # load bar: the larger phase against the contract
    d.bar(fb, 0, bar_y, d.W, bar_h, DARK, "load")
    if da is not None and v.contract_a:
        fb.fill_rect(0, bar_y, min(d.W, da * d.W // (v.contract_a * 10)), bar_h, load)
    ny = bar_y + bar_h + 1
    if d.shows(ny, d.H - ny):
        _yen(fb, v, t, stale, large, ny)
    sy = d.H - d.S.height
    if d.shows(sy, d.H - sy):
        _status(fb, v, stale and not t[14])
    if d.Y1 >= d.H:
        for i in range(15):
            t[i] = None  # the strings go with the last band


def _top(fb, v, t, stale, large):
    """The billing period and its kWh (on 160x80 the export takes turns with it), the clock."""
    small = d.S
    if v.export_kwh and v.tick & 1 and not large:
        x = text(fb, small, "export ", 0, 0, GREY)
        x = text(fb, small, t[2], x, 0, CYAN)
    else:
        x = text(fb, small, t[0], 0, 0, GREY)
        x = text(fb, small, t[1], x, 0, DIM if stale else WHITE)
    text(fb, small, "kWh", x, 0, GREY)
    d.right(fb, small, t[3], d.W, 0, WHITE)


def _power(fb, v, t, stale, da, load, py, bottom):
    """Big digits right-aligned, the unit on their baseline; the age, STALE, EXPORT and the
    current on their left. True when STALE had room there."""
    small, big = d.S, d.P
    unit = t[5]
    export = v.power_w is not None and v.power_w < 0
    ux = d.W - d.width(small, unit)
    text(fb, small, unit, ux, py + big.baseline - small.baseline, CYAN if export and not stale else GREY)
    c = DIM if stale or v.power_w is None else CYAN if export else WHITE
    room = d.right(fb, big, t[4], ux - 1, py, c) - small.widths[0] // 2
    y = py + 1
    if stale:
        y = _line(fb, "STALE", AMBER, y, room, bottom)
    shown = y > py + 1
    if t[6] is not None:
        s = t[7]
        y = _line(fb, s if d.width(small, s) <= room else t[6], AMBER if stale else GREY, y, room, bottom)
    if export:
        y = _line(fb, "EXPORT", DIM if stale else CYAN, y, room, bottom)
    if da is not None:
        s = t[9]
        _line(fb, s if d.width(small, s) <= room else t[8], load, y, room, bottom)
    return shown


def _yen(fb, v, t, stale, large, ny):
    """The yen for the period so far, an estimate; today's kWh (or the forecast, taking turns on
    160x80) on its left; on 240x135 a row below for the export and the forecast."""
    small, mid = d.S, d.N
    w = d.W
    sy = d.H - small.height
    ux = w - d.width(small, "est.")
    text(fb, small, "est.", ux, ny + mid.baseline - small.baseline, GREY)
    room = d.right(fb, mid, t[10], ux - 2, ny, DIM if stale else YELLOW)
    room -= small.widths[0] // 2
    fc = t[11]
    if fc is not None and v.tick & 1 and not large:
        y = _line(fb, "end", GREY, ny + 1, room, sy)
        _line(fb, fc, WHITE, y, room, sy)
    else:
        y = _line(fb, "today", GREY, ny + 1, room, sy)
        _line(fb, t[12], WHITE, y, room, sy)
    if large:
        y = ny + mid.height + 1
        if t[13] is not None:
            x = text(fb, small, "export ", 0, y, GREY)
            text(fb, small, t[13], x, y, CYAN)
        if fc is not None:
            x = d.right(fb, small, fc, w, y, WHITE)
            d.right(fb, small, "end ", x, y, GREY)


def _status(fb, v, stale):
    """The status line: STALE (when it had no room above), then the error or a mark per link."""
    small = d.S
    sy = d.H - small.height
    x = 0
    if stale:
        x = text(fb, small, "STALE ", 0, sy, AMBER)
    if v.error:
        text(fb, small, v.error, x, sy, RED, d.W - x)
        return
    x = _link(fb, x, sy, "WiSUN", v.link)
    x = _link(fb, x, sy, "WiFi", v.wifi)
    _link(fb, x, sy, "Ambient", v.ambient)
