"""lib/session/ by concern: the rare state changes live in recover.py, which no one reaches around.

The same checks as test_ambient.py's layout tests: a module never imports its caller, and a
leading-underscore attribute is only ever read or written on self.
"""

import ast
import os

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib", "session")


def _source(name):
    with open(os.path.join(LIB, name)) as f:
        return f.read()


def _modules():
    return sorted(n for n in os.listdir(LIB) if n.endswith(".py"))


def test_layout_no_module_imports_its_caller():
    """session loads join, history and recover by name (lib/lazy.py); none of them imports session."""
    for name in _modules():
        got = set()
        for node in ast.walk(ast.parse(_source(name))):
            if isinstance(node, ast.Import):
                got.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                got.update((node.module or "") + "." + a.name for a in node.names)
        assert not any(i == "session" or i.startswith("session.") for i in got), (name, got)


def test_layout_no_private_state_of_another_object():
    """A leading-underscore attribute is only ever read or written on self."""
    for name in _modules():
        for node in ast.walk(ast.parse(_source(name))):
            if isinstance(node, ast.Attribute) and node.attr[:1] == "_" and node.attr[:2] != "__":
                on_self = isinstance(node.value, ast.Name) and node.value.id == "self"
                assert on_self, (name, node.lineno, node.attr)


def test_rare_state_changes_are_not_resident():
    """Closing, a lost session, the holds of EVENT 29/32 and the end-of-join reset are code in
    recover.py (loaded for the call), not in the session module that stays in the heap."""
    resident = _source("__init__.py")
    rare = _source("recover.py")
    for text in (
        '"closing"',
        "scanning again",
        "Re-authenticating",
        "Paused: radio transmit limit",
        "joined: reading every",
        "s.closing = 2 if why else 0",
    ):
        assert text not in resident, text
        assert text in rare, text
    tree = ast.parse(resident)
    session = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Session")
    close = next(n for n in session.body if isinstance(n, ast.FunctionDef) and n.name == "close")
    assert not any(isinstance(n, ast.While) for n in ast.walk(close))  # the wait is recover's
