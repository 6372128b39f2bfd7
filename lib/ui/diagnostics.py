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
    v.free_heap = app.free_heap()
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


def _hex(x, fmt):
    """'--' for None, fmt % x for an int, else str(x)."""
    if x is None:
        return "--"
    return fmt % x if isinstance(x, int) else str(x)


def _bill(f):
    """A row of words for tariff.estimate()'s flags: a month priced with an earlier month's figure
    (old) or with none (none); no row when every month had its own."""
    s = "Bill:"
    for bit, word in ((1, " fuel old"), (4, " fuel none"), (2, " levy old"), (8, " levy none")):
        if f & bit:
            s += word
    return (s,) if f else ()


def draw(fb, v):
    """Draw the diagnostics screen of v into fb (cleared; draw.setup done)."""
    small = d.S
    w = d.W
    text(fb, small, "Diagnostics", 0, 0, WHITE)
    if v.uptime_s is not None:
        d.right(fb, small, "up " + d.duration_text(v.uptime_s), w, 0, GREY)
    y = d.lines(
        fb,
        small,
        (
            "Ch %s  PAN %s  LQI %s" % (_hex(v.channel, "%02X"), _hex(v.pan_id, "%04X"), _hex(v.lqi, "%d")),
            "Module %s" % _hex(v.version, ""),
            "Free heap " + ("--" if v.free_heap is None else d.group(v.free_heap) + " B"),
            "Ambient sent %d" % v.amb_ok,
            "failed %d backlog %d" % (v.amb_failed, v.amb_buffered),
        )
        + _bill(v.bill_flags),
        small.height,
        GREY,
    )
    if v.error:
        d.lines(fb, small, d.wrap("Error: " + v.error, w // small.widths[0]), y, RED)
