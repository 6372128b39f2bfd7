"""The connecting screen, shown until the first reading: the steps, the status, progress, the reason."""

from ui import draw as d
from ui.draw import AMBER, GREEN, GREY, NAVY, RED, WHITE, text
from ui.view import STEPS

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_NAMES = const(("Wi-Fi", "Time", "Scan", "Join", "Read"))  # for view.STEPS


def fill(v, app, now):
    """The connecting screen's fields of v from app (lib/app/loop.py App)."""
    s = app.session
    state = s.state
    if state == "start" and app.network is not None and not app.wifi_up:
        v.step = "wifi"
    elif state == "start" and app.wall() is None:
        v.step = "time"  # waiting for the clock (NTP)
    elif state == "start" or state == "scan":
        v.step = "scan"
    elif state == "join":
        v.step = "join"
    else:
        v.step = "read"
    v.status = s.status or ""
    v.progress = s.progress if state in ("scan", "join") else None
    v.reason = (s.error or s.status) if state == "failed" else None


def draw(fb, v):
    """Draw the connecting screen of v into fb (cleared; draw.setup done)."""
    small = d.S
    w = d.W
    line = small.height
    now = STEPS.index(v.step) if v.step in STEPS else -1
    x = 1
    for i in range(len(STEPS)):
        name = _NAMES[i]
        if i == now:
            d.bar(fb, x - 1, 0, d.width(small, name) + 1, line, RED if v.reason else NAVY, "step")
        x = text(fb, small, name, x, 0, WHITE if i == now else GREEN if i < now else d.DIM) + small.widths[0]
    y = 2 * line
    text(fb, small, v.status or "", 0, y, WHITE)
    y += 2 * line
    if v.progress is not None:
        pct = max(0, min(100, v.progress))
        bw = w - d.width(small, "100%") - 2
        fb.rect(0, y, bw, small.baseline, GREY)
        d.bar(fb, 1, y + 1, (bw - 2) * pct // 100, small.baseline - 2, GREEN, "progress")
        d.right(fb, small, "%d%%" % pct, w, y, WHITE)
        y += line + line // 2
    if v.reason:
        for row in d.wrap(v.reason, w // small.widths[0]):  # while the rows fit
            if y + line > d.H:
                break
            text(fb, small, row, 0, y, AMBER)
            y += line
