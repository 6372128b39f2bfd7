"""Code loaded for one call and dropped again.

On the device the bytecode of every imported module lives in the GC heap, so
start-up and seldom-used code (scan and join, repairs, other screens, tariff
parsing) is imported when it is needed and forgotten afterwards. Forgetting
takes two steps: the entry in sys.modules, and the attribute that the import
set on the package (`session.join`), which would otherwise keep it alive.
"""

import sys


def load(name):
    """The module `name` (dotted, e.g. "session.join"), imported if it is not yet."""
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


def call(name, func, *args):
    """name.func(*args), with the module loaded for this call only (kept if it was loaded already)."""
    loaded = name in sys.modules
    try:
        return getattr(load(name), func)(*args)
    finally:
        if not loaded:
            drop(name)
