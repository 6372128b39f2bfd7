"""Code loaded for one call and dropped again.

On the device the bytecode of every imported module lives in the GC heap, so
start-up and seldom-used code (scan and join, repairs, other screens, tariff
parsing) is imported when it is needed and forgotten afterwards. Forgetting
takes two steps: the entry in sys.modules, and the attribute that the import
set on the package (`session.join`), which would otherwise keep it alive.

Each load collects the garbage first: the new code then goes to the lowest
free blocks, not above the last cycle's garbage, and the objects the call
keeps do not end up scattered through the top of the heap (an 8 KB buffer
still finds room after a day: tools/device_day).
"""

import gc
import sys

_MP = sys.implementation.name == "micropython"  # CPython's heap needs no help (and collects slowly)


def load(name):
    """The module `name` (dotted, e.g. "session.join"), imported if it is not yet."""
    if name not in sys.modules:
        collect()  # see above: a few ms on the device, a few times each half hour
    __import__(name)
    return sys.modules[name]


def drop(name):
    """Forget module `name` so the collector can free its bytecode (its qstrs stay)."""
    sys.modules.pop(name, None)
    dot = name.rfind(".")
    if dot > 0:
        pkg = sys.modules.get(name[:dot])
        if pkg is not None and name[dot + 1 :] in pkg.__dict__:
            delattr(pkg, name[dot + 1 :])


def collect():
    """gc.collect() on MicroPython, where the app's heap is small and does not move (CPython: no-op)."""
    if _MP:
        gc.collect()


def loaded():
    """The names of the modules loaded now, for forget()."""
    return tuple(sys.modules)


def forget(before):
    """Drop every module loaded since before = loaded() (e.g. a module and what it imported)."""
    for name in tuple(sys.modules):
        if name not in before:
            drop(name)


def call(name, func, *args):
    """name.func(*args), with the module loaded for this call only (kept if it was loaded already;
    its package too)."""
    loaded = name in sys.modules
    dot = name.find(".")
    pkg = name[:dot] if dot > 0 and name[:dot] not in sys.modules else None
    try:
        return getattr(load(name), func)(*args)
    finally:
        if not loaded:
            drop(name)
        if pkg is not None:
            drop(pkg)
