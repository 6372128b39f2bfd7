"""The screens by name: draw(fb, view, name); module(name) for the app's fill(v, app, now).

"main", "connecting", "today", "diagnostics" and "config_error" are the modules
ui/main.py, ui/connecting.py, ... Each has draw(fb, v) and, except
config_error, fill(v, app, now), which copies what the screen shows from the
app (lib/app/loop.py App, read only) into the View. Only the screen on display
is imported: module() drops the screen shown before (lib/lazy.py), so the
device's heap holds the bytecode of one screen at a time.

fb must carry its size as fb.width and fb.height (the drivers and
host/canvas.py do): 160x80 uses the small layout, 240x135 the large one. A
panel whose frame buffer holds a band of it (firmware/st77xx.py: fb.buffer_rows <
fb.height) is drawn band by band: draw() sets fb.top, draws the screen, sends
the band with fb.show() and goes on; the last band is left to the caller's
show(), as is a whole frame. A screen's draw may skip what lies outside the
band being drawn (lib/ui/draw.py shows()); text() blits only there.
"""

import lazy

from ui import draw as _draw
from ui.draw import PALETTE  # noqa: F401  (the panel drivers take the palette from here)

_name = None  # the screen module loaded last
_mod = None


def module(name):
    """The module of screen name ("main", "today", ...), loaded; the one shown before is dropped."""
    global _name, _mod
    if name != _name:
        if _name is not None:
            _mod = None
            lazy.drop("ui." + _name)
        _mod = lazy.load("ui." + name)
        _name = name
    assert _mod is not None  # (for the type checker; mpy-cross -O3 leaves asserts out)
    return _mod


def draw(fb, view, name="main"):
    """Draw screen name of view into fb; the caller's show() sends it (or its last band)."""
    h = fb.height
    if fb.width != _draw.W or h != _draw.H:
        _draw.setup(fb.width, h)
    m = module(name)
    rows = getattr(fb, "buffer_rows", h)
    top = 0
    while True:
        fb.top = top  # (a whole frame: 0)
        _draw.Y0 = top
        top += rows
        _draw.Y1 = top
        fb.fill(0)
        m.draw(fb, view)
        if top >= h:
            _draw.Y0 = 0  # a screen drawn without draw() (tests) draws everything
            _draw.Y1 = h
            return
        fb.show()
