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

_LINK = {"ready": "ok", "start": "join", "scan": "join", "join": "join", "failed": "fail"}
_OK, _FAIL, _WAIT = "\u2713", "\u2717", "\u2026"  # status marks in the small fonts


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
    smaller pieces of bytecode find room in a fragmented heap more easily."""
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
    _top(fb, v, stale, large)
    shown = _power(fb, v, stale, da, load, py, bar_y)
    # load bar: the larger phase against the contract
    d.bar(fb, 0, bar_y, d.W, bar_h, DARK, "load")
    if da is not None and v.contract_a:
        fb.fill_rect(0, bar_y, min(d.W, da * d.W // (v.contract_a * 10)), bar_h, load)
    _yen(fb, v, stale, large, bar_y + bar_h + 1)
    _status(fb, v, stale and not shown)


def _top(fb, v, stale, large):
    """The billing period and its kWh (on 160x80 the export takes turns with it), the clock."""
    small = d.S
    exp = v.export_kwh
    if exp and v.tick & 1 and not large:
        x = text(fb, small, "export ", 0, 0, GREY)
        x = text(fb, small, d.kwh_text(exp), x, 0, CYAN)
    else:
        x = text(fb, small, "--/--" if v.period is None else "%d/%d-%d/%d" % v.period, 0, 0, GREY)
        x = text(fb, small, " " + d.kwh_text(v.period_kwh), x, 0, DIM if stale else WHITE)
    text(fb, small, "kWh", x, 0, GREY)
    c = v.clock
    d.right(fb, small, "--:--" if c is None else "%d:%02d" % (c // 60, c % 60), d.W, 0, WHITE)


def _power(fb, v, stale, da, load, py, bottom):
    """Big digits right-aligned, the unit on their baseline; the age, STALE, EXPORT and the
    current on their left. True when STALE had room there."""
    small, big = d.S, d.P
    num, unit = d.power_text(v.power_w)
    export = v.power_w is not None and v.power_w < 0
    ux = d.W - d.width(small, unit)
    text(fb, small, unit, ux, py + big.baseline - small.baseline, CYAN if export and not stale else GREY)
    c = DIM if stale or v.power_w is None else CYAN if export else WHITE
    room = d.right(fb, big, num, ux - 1, py, c) - small.widths[0] // 2
    y = py + 1
    if stale:
        y = _line(fb, "STALE", AMBER, y, room, bottom)
    shown = y > py + 1
    if v.age_s is not None:
        age = d.duration_text(v.age_s)
        s = age + " ago"
        y = _line(fb, s if d.width(small, s) <= room else age, AMBER if stale else GREY, y, room, bottom)
    if export:
        y = _line(fb, "EXPORT", DIM if stale else CYAN, y, room, bottom)
    if da is not None:
        a = d.amps_text(da) + "A"
        s = a + "/%dA" % v.contract_a
        _line(fb, s if d.width(small, s) <= room else a, load, y, room, bottom)
    return shown


def _yen(fb, v, stale, large, ny):
    """The yen for the period so far, an estimate; today's kWh (or the forecast, taking turns on
    160x80) on its left; on 240x135 a row below for the export and the forecast."""
    small, mid = d.S, d.N
    w = d.W
    sy = d.H - small.height
    ux = w - d.width(small, "est.")
    text(fb, small, "est.", ux, ny + mid.baseline - small.baseline, GREY)
    yen = v.charge_yen
    c = DIM if stale else YELLOW
    room = d.right(fb, mid, "--" if yen is None else "\u00a5" + d.yen_text(yen), ux - 2, ny, c)
    room -= small.widths[0] // 2
    fc = v.forecast_yen
    if fc is not None and v.tick & 1 and not large:
        y = _line(fb, "end", GREY, ny + 1, room, sy)
        _line(fb, "\u00a5" + d.yen_text(fc), WHITE, y, room, sy)
    else:
        t = v.today_wh
        y = _line(fb, "today", GREY, ny + 1, room, sy)
        t = "--" if t is None else "%d.%d" % ((t + 50) // 1000, (t + 50) // 100 % 10)
        _line(fb, t + "kWh", WHITE, y, room, sy)
    if large:
        y = ny + mid.height + 1
        exp = v.export_kwh
        if exp:
            x = text(fb, small, "export ", 0, y, GREY)
            text(fb, small, d.kwh_text(exp) + "kWh", x, y, CYAN)
        if fc is not None:
            x = d.right(fb, small, "\u00a5" + d.yen_text(fc), w, y, WHITE)
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
