"""Where the live heap goes: the modules the app kept at its last sample, imported one by one in a
fresh VM of the same build (vm/anatomy_boot.py), dependencies first, so each row is what that
module adds: its bytecode, the objects its import made, and the qstrs it interned (the pool bytes
include a whole new pool when this module's names filled the last one). Then the M5StickC's
st77xx.Panel as board.setup(banded=True) builds it (a frame buffer of an eighth of the rows, band,
palette). What the day's live heap holds beyond these is the app's objects (App, Session and its
buffers, Forwarder, Backlog, View, readings, qstrs made at run time)."""

import ast
import os
import re
import subprocess

from device_day import build

_Q = re.compile(r"qstr pool: n_pool=\d+, n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)")


def _source(name):
    """The source file of module name (dotted) in ROOT's lib/ or firmware/, or None."""
    rel = name.replace(".", "/")
    for cand in ("lib/%s.py" % rel, "lib/%s/__init__.py" % rel, "firmware/%s.py" % rel):
        p = os.path.join(build.ROOT, cand)
        if os.path.exists(p):
            return p
    return None


def _top_imports(path):
    """Module names imported at module level (also inside top-level if/try), not in functions."""
    with open(path) as f:
        tree = ast.parse(f.read())
    out = []

    def visit(body):
        for node in body:
            if isinstance(node, ast.Import):
                out.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                out.append(node.module)
                out.extend(node.module + "." + a.name for a in node.names)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)

    visit(tree.body)
    return out


def order(modules):
    """modules sorted so that each comes after what it imports at module level (and its package)."""
    wanted = set(modules)
    done, out = set(), []

    def visit(m, stack):
        if m in done or m in stack:
            return
        stack.add(m)
        deps = []
        if "." in m:
            deps.append(m.rsplit(".", 1)[0])
        src = _source(m)
        if src:
            deps += _top_imports(src)
        for d in deps:
            if d in wanted:
                visit(d, stack)
        done.add(m)
        out.append(m)

    for m in sorted(modules):
        visit(m, set())
    return out


def measure(tmp, modules):
    """Run the breakdown in a VM; {"rows": [(module, heap B, qstrs, qstr string B, qstr pool B)],
    "panel": B, "buffer": (frame buffer B, its rows) or None, "errors": [...], "order": [...]}."""
    names = order(modules)
    env = dict(
        os.environ,
        MICROPYPATH=os.path.join(tmp, "standins"),
        DAY_FLASH=os.path.join(tmp, "flash"),
        DAY_STANDINS=os.path.join(tmp, "standins"),
        DAY_MODULES=" ".join(names),
    )
    r = subprocess.run(
        [build.VM, "-X", "heapsize=%d" % (4 * build.HEAP), "-m", "anatomy_boot"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp,
    )
    marks, errors, buf = [], [], None
    for line in r.stdout.splitlines():
        if line.startswith("ANATBUF "):
            buf = tuple(int(x) for x in line.split()[1:3])
        elif line.startswith("ANAT "):
            _, name, heap = line.split()
            marks.append([name, int(heap), None])
        elif line.startswith("ANATERR"):
            errors.append(line[8:])
        else:
            m = _Q.match(line)
            if m and marks:
                marks[-1][2] = tuple(int(x) for x in m.groups())
    if r.returncode:
        errors.append("exit %d: %s" % (r.returncode, r.stderr.strip()[-300:]))
    rows, panel = [], None
    for prev, cur in zip(marks, marks[1:], strict=False):
        d = cur[1] - prev[1]
        q = tuple(c - p for c, p in zip(cur[2] or (0, 0, 0), prev[2] or (0, 0, 0), strict=True))
        if cur[0] == "=panel":
            panel = d
        else:
            rows.append((cur[0], d, q[0], q[1], q[2]))
    return {"rows": rows, "panel": panel, "buffer": buf, "errors": errors, "order": names}


def table(a, r):
    """Markdown: per module, biggest first; the totals against the day's live heap."""
    rows = sorted(a["rows"], key=lambda x: -x[1])
    code = sum(x[1] for x in rows)
    qpool = sum(x[4] for x in rows)
    out = [
        "Where the live heap goes (a fresh VM imports the %d modules the app kept, dependencies first):"
        % len(rows),
        "",
        "| module | heap B | of it qstr pools B | qstrs (string B) |",
        "|---|---:|---:|---:|",
    ]
    for name, heap, nq, qs, qp in rows:
        if heap == 0 and "." in name:
            out.append("| %s | in %s: its package imports it | | |" % (name, name.rsplit(".", 1)[0]))
            continue
        out.append("| %s | {:,} | {:,} | %d ({:,}) |".format(heap, qp, qs) % (name, nq))
    out.append("| **all these modules** | **{:,}** | **{:,}** | |".format(code, qpool))
    if a["panel"] is not None:
        n, rows = a.get("buffer") or (0, 0)
        what = "st77xx.Panel 160x80: GS4 frame buffer {:,} ({} of 80 rows) + RGB565 band + palette + object"
        what = what.format(n, rows)
        out.append("| %s | {:,} | | |".format(a["panel"]) % what)
    live = r.get("live_app_max")
    if live is not None:
        rest = live - code - (a["panel"] or 0)
        what = (
            "the rest of the day's live heap ({:,} B): the app's objects and buffers, qstrs made at run"
            " time, the first qstr pools (the harness's names fill them in this VM), the empty VM's {:,}"
        ).format(live, r["empty_vm"])
        out.append("| %s | {:,} | | |".format(rest) % what)
    if a["errors"]:
        out += ["", "Not measured: " + "; ".join(a["errors"])]
    return "\n".join(out)
