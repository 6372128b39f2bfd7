"""The diagnostics screen: the Wi-SUN link, the module, uptime, free heap, Ambient counts, the error."""

from ui import draw as d
from ui.draw import GREY, RED, WHITE, text


def fill(v, app, now):
    """The diagnostics screen's fields of v from app (lib/app/loop.py App)."""
    s = app.session
    info = s.info or {}
    v.channel = info.get("channel")
    v.pan_id = info.get("pan_id")
    v.lqi = info.get("lqi")
    v.version = info.get("version")
    v.uptime_s = app.uptime_s
    f = app.mem_free
    v.free_heap = None if f is None else f()
    amb = app.amb
    if amb is None:
        v.amb_ok = v.amb_failed = v.amb_buffered = 0
    else:
        v.amb_ok = amb.sent
        v.amb_failed = amb.failed
        v.amb_buffered = len(amb.backlog)
    b = app.bill
    v.bill_flags = b[1] if b else 0
    # the last error of any part, even one that no longer matters (main shows only current ones)
    v.error = s.error or app.last_error or (amb.last_error if amb is not None else None)


_rows = [None, None, None]  # type: list  # the strings of the redraw being drawn: uptime, lines, error lines


def _hex(x, fmt):
    """'--' for None, fmt % x for an int, else str(x)."""
    if x is None:
        return "--"
    return fmt % x if isinstance(x, int) else str(x)


def _bill(f):
    """A row of words for Tariff.bill()'s flags: a month priced with an earlier month's figure
    (old) or with none (n/a); no row when every month had its own."""
    s = "Bill:"
    for i in range(4):  # bits 1 2 4 8: fuel old, levy old, fuel n/a, levy n/a (one qstr, not four)
        if f >> i & 1:
            s += " fuel old levy old fuel n/a levy n/a"[i * 9 : i * 9 + 9]
    return (s,) if f else ()


def _lines(fb, rows, y, c):
    """Draw rows of small text from y down while they fit; returns the next y."""
    small = d.S
    for row in rows:
        if y + small.height > d.H:
            break
        text(fb, small, row, 0, y, c)
        y += small.height
    return y


def draw(fb, v):
    """Draw the diagnostics screen of v into fb (cleared; draw.setup done). Its strings are made
    in the first band of a redraw (lib/ui/screens.py), not in every band."""
    small = d.S
    w = d.W
    rows = _rows
    if d.Y0 == 0:
        rows[0] = None if v.uptime_s is None else "up " + d.duration_text(v.uptime_s)
        rows[1] = (
            "Ch %s  PAN %s  LQI %s" % (_hex(v.channel, "%02X"), _hex(v.pan_id, "%04X"), _hex(v.lqi, "%d")),
            "Module %s" % _hex(v.version, ""),
            "Free heap " + ("--" if v.free_heap is None else d.group(v.free_heap) + " B"),
            "Ambient sent %d" % v.amb_ok,
            "failed %d backlog %d" % (v.amb_failed, v.amb_buffered),
        ) + _bill(v.bill_flags)
        rows[2] = d.wrap("Error: " + v.error, w // small.widths[0]) if v.error else None
    text(fb, small, "Diagnostics", 0, 0, WHITE)
    if rows[0] is not None:
        d.right(fb, small, rows[0], w, 0, GREY)
    y = _lines(fb, rows[1], small.height, GREY)
    if rows[2] is not None:
        _lines(fb, rows[2], y, RED)
    if d.Y1 >= d.H:
        rows[0] = rows[1] = rows[2] = None  # the strings go with the last band
