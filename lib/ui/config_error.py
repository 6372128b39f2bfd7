"""The config error screen: every problem as "key: what is wrong", wrapped, paged by View.page.

Shown before the app exists (firmware/startup.py, host/run.py), so it has no fill:
make_view(problems, page) makes its View.
"""

from ui import draw as d
from ui.draw import AMBER, GREY, RED, WHITE, text


def make_view(problems, page=0):
    """A View for this screen (problems: list of "key: what is expected"; page: from 0)."""
    from ui import view

    v = view.View()
    v.problems = problems
    v.page = page
    return v


def draw(fb, v):
    """Draw the config error screen of v into fb (cleared; draw.setup done)."""
    small = d.S
    w = d.W
    line = small.height
    rows = []
    for p in v.problems or ("no details",):
        prefix = "- "
        for part in d.wrap(p, w // small.widths[0] - 2):
            rows.append(prefix + part)
            prefix = "  "
    per_page = (d.H - line - 2) // line
    pages = (len(rows) + per_page - 1) // per_page
    page = v.page % pages
    text(fb, small, "Config error", 0, 0, RED)
    if pages > 1:
        d.right(fb, small, "%d/%d" % (page + 1, pages), w, 0, GREY)
    y = line + 2
    for s in rows[page * per_page : (page + 1) * per_page]:
        colon = s.find(":")
        x = 0
        if s[0] == "-" and colon > 0:  # the key in amber
            x = text(fb, small, s[: colon + 1], 0, y, AMBER)
            s = s[colon + 1 :]
        text(fb, small, s, x, y, WHITE)
        y += line
