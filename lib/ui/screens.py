"""The screens by name: draw(fb, view, name); module(name) for the app's fill(v, app, now).

"main", "connecting", "today", "diagnostics" and "config_error" are the modules
ui/main.py, ui/connecting.py, ... Each has draw(fb, v) and, except
config_error, fill(v, app, now), which copies what the screen shows from the
app (lib/app/loop.py App, read only) into the View. Only the screen on display
is imported: module() drops the screen shown before (lib/lazy.py), so the
device's heap holds the bytecode of one screen at a time.

fb must carry its size as fb.width and fb.height (the drivers and
host/canvas.py do): 160x80 uses the small layout, 240x135 the large one.
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
    """Draw screen name of view into fb."""
    if fb.width != _draw.W or fb.height != _draw.H:
        _draw.setup(fb.width, fb.height)
    fb.fill(0)
    module(name).draw(fb, view)
