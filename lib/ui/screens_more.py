"""The screens other than main: connecting, today, diagnostics, config_error (see lib/screens.py).

screens.draw imports this module for them and drops it again when the main
screen is drawn, so its bytecode is in the device's heap only while one of
these screens is up. Draws through screens' text and bar helpers; the panel
size and fonts are the ones screens set up.
"""

from ui import screens
from ui.screens import (
    AMBER,
    BLUE,
    DIM,
    GREEN,
    GREY,
    NAVY,
    RED,
    WHITE,
    _bar,
    _group,
    _right,
    duration_text,
    text,
    width,
    wrap,
)
from ui.view import STEPS

_STEP_NAMES = ("Wi-Fi", "Time", "Scan", "Join", "Read")  # for view.STEPS


def draw(fb, v, name):
    """Draw screen name of v into fb (already cleared; screens set up the layout)."""
    small = screens._S
    if name == "connecting":
        _connecting(fb, v, small)
    elif name == "today":
        _today(fb, v, small, screens._M)
    elif name == "diagnostics":
        _diagnostics(fb, v, small)
    else:
        _config_error(fb, v, small)


def _lines(fb, small, lines, y, c):
    """Draw lines of small text from y down while they fit; returns the next y."""
    h = screens._H
    for line in lines:
        if y + small.HEIGHT > h:
            break
        text(fb, small, line, 0, y, c)
        y += small.HEIGHT
    return y


def _connecting(fb, v, small):
    w = screens._W
    line = small.HEIGHT
    now = STEPS.index(v.step) if v.step in STEPS else -1
    x = 1
    for i in range(len(STEPS)):
        name = _STEP_NAMES[i]
        if i == now:
            _bar(fb, x - 1, 0, width(small, name) + 1, line, RED if v.reason else NAVY, "step")
        x = text(fb, small, name, x, 0, WHITE if i == now else GREEN if i < now else DIM) + small.WIDTHS[0]
    y = 2 * line
    text(fb, small, v.status or "", 0, y, WHITE)
    y += 2 * line
    if v.progress is not None:
        pct = max(0, min(100, v.progress))
        bw = w - width(small, "100%") - 2
        fb.rect(0, y, bw, small.BASELINE, GREY)
        _bar(fb, 1, y + 1, (bw - 2) * pct // 100, small.BASELINE - 2, GREEN, "progress")
        _right(fb, small, "%d%%" % pct, w, y, WHITE)
        y += line + line // 2
    if v.reason:
        _lines(fb, small, wrap(v.reason, w // small.WIDTHS[0]), y, AMBER)


_wh = [0] * 48  # today's half hours in Wh (-1 = no data), reused by every redraw


def _today(fb, v, small, mid):
    w, h = screens._W, screens._H
    vals = v.today or ()
    n = min(48, len(vals))
    wh = _wh
    peak = total = 0
    for i in range(n):
        k = vals[i]
        e = -1 if k is None else k
        wh[i] = e
        if e > 0:
            total += e
            peak = max(peak, e)
    if v.today_kwh is not None:
        total = round(v.today_kwh * 1000)
    uy = mid.BASELINE - small.BASELINE
    t = (total + 5) // 10  # 10 Wh
    x = text(fb, mid, "%d.%02d" % (t // 100, t % 100) if n or v.today_kwh is not None else "--", 0, 0, WHITE)
    text(fb, small, "kWh today", x + 2, uy, GREY)
    t = (peak + 5) // 10
    _right(fb, small, "peak %d.%02d" % (t // 100, t % 100) if peak else "no data", w, uy, GREY)
    # the bars, in integers: the same pixels on every platform
    pitch = w // 50
    x0 = (w - 48 * pitch) // 2
    top = mid.HEIGHT + 1
    base = h - small.HEIGHT - 1  # the axis row
    fb.hline(x0, base, 48 * pitch, GREY)
    boxes = screens.BOXES
    if boxes is not None:
        boxes.append((x0, top, 48 * pitch, base + 1 - top, "chart", False))
    for i in range(n):
        if wh[i] > 0:
            bh = (wh[i] * (base - top) + peak // 2) // peak
            fb.fill_rect(x0 + i * pitch, base - bh, pitch - 1, bh, BLUE)
    for hour in range(0, 25, 6):
        s = "%d" % hour
        sw = width(small, s)
        text(fb, small, s, max(0, min(w - sw, x0 + hour * 2 * pitch - sw // 2)), h - small.HEIGHT, GREY)


def _diagnostics(fb, v, small):
    w = screens._W
    text(fb, small, "Diagnostics", 0, 0, WHITE)
    if v.uptime_s is not None:
        _right(fb, small, "up " + duration_text(v.uptime_s), w, 0, GREY)
    y = _lines(
        fb,
        small,
        (
            "Ch %s  PAN %s  LQI %s" % (_hex(v.channel, "%02X"), _hex(v.pan_id, "%04X"), _hex(v.lqi, "%d")),
            "Module %s" % _hex(v.version, ""),
            "Free heap " + ("--" if v.free_heap is None else _group(v.free_heap) + " B"),
            "Ambient sent %d" % v.amb_ok,
            "failed %d backlog %d" % (v.amb_failed, v.amb_buffered),
        ),
        small.HEIGHT,
        GREY,
    )
    if v.error:
        _lines(fb, small, wrap("Error: " + v.error, w // small.WIDTHS[0]), y, RED)


def _hex(x, fmt):
    """'--' for None, fmt % x for an int, else str(x)."""
    if x is None:
        return "--"
    return fmt % x if isinstance(x, int) else str(x)


def _config_error(fb, v, small):
    w = screens._W
    line = small.HEIGHT
    lines = []
    for p in v.problems or ("no details",):
        prefix = "- "
        for part in wrap(p, w // small.WIDTHS[0] - 2):
            lines.append(prefix + part)
            prefix = "  "
    per_page = (screens._H - line - 2) // line
    pages = (len(lines) + per_page - 1) // per_page
    page = v.page % pages
    text(fb, small, "Config error", 0, 0, RED)
    if pages > 1:
        _right(fb, small, "%d/%d" % (page + 1, pages), w, 0, GREY)
    y = line + 2
    for s in lines[page * per_page : (page + 1) * per_page]:
        colon = s.find(":")
        x = 0
        if s[0] == "-" and colon > 0:  # the key in amber
            x = text(fb, small, s[: colon + 1], 0, y, AMBER)
            s = s[colon + 1 :]
        text(fb, small, s, x, y, WHITE)
        y += line
