"""The today screen: today's kWh and a bar per half hour since local midnight, with an hour axis."""

from ui import draw as d
from ui.draw import BLUE, GREY, WHITE, text

_wh = [0] * 48  # today's half hours in Wh (-1 = no data), reused by every redraw


def fill(v, app, now):
    """The today screen's fields of v from app (lib/app/loop.py App): today's half hours, never
    another day's (app.today() asks the session for fresh ones)."""
    v.today = app.today()
    v.today_wh = None  # the sum of the half hours


def draw(fb, v):
    """Draw the today screen of v into fb (cleared; draw.setup done)."""
    small, mid = d.S, d.N
    w, h = d.W, d.H
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
    if v.today_wh is not None:
        total = v.today_wh
    # title: today's kWh; the peak half hour and the bars' unit on the right
    uy = mid.baseline - small.baseline
    x = text(fb, mid, d.wh_text(total) if n or v.today_wh is not None else "--", 0, 0, WHITE) + 2
    text(fb, small, "today", x, uy - small.height, GREY)
    text(fb, small, "kWh", x, uy, GREY)
    d.right(fb, small, "peak " + d.wh_text(peak) if peak else "no data", w, uy - small.height, GREY)
    d.right(fb, small, "kWh/30min", w, uy, GREY)
    # the bars, in integers: the same pixels on every platform
    pitch = w // 50
    x0 = (w - 48 * pitch) // 2
    top = mid.height + 2
    base = h - small.height - 3  # the axis row; hour ticks below it
    fb.hline(x0, base, 48 * pitch, GREY)
    boxes = d.BOXES
    if boxes is not None:
        boxes.append((x0, top, 48 * pitch, base + 3 - top, "chart", False))
    for i in range(n):
        if wh[i] > 0:
            bh = (wh[i] * (base - top) + peak // 2) // peak
            fb.fill_rect(x0 + i * pitch, base - bh, pitch - 1, bh, BLUE)
    for hour in range(0, 25, 3):
        fb.vline(x0 + hour * 2 * pitch - (1 if hour == 24 else 0), base + 1, 2, GREY)
    for hour in range(0, 25, 6):
        s = "%dh" % hour if hour == 24 else "%d" % hour
        sw = d.width(small, s)
        text(fb, small, s, max(0, min(w - sw, x0 + hour * 2 * pitch - sw // 2)), h - small.height, GREY)
