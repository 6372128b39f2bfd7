"""tools/heap_report.py: the heap the compiled modules keep on real MicroPython (webassembly build)."""

import os
import shutil

import heap_report
import pytest

MPWASM = os.path.join(heap_report.ROOT, "tools", "mpwasm", "node_modules", "@micropython")


@pytest.fixture(scope="module")
def report():
    if not os.path.isdir(MPWASM) or not shutil.which("node"):
        pytest.skip("MicroPython webassembly build not installed (make mpwasm)")
    return heap_report.measure(["-O3"])


def test_every_module_is_measured_in_dependency_order(report):
    rows, everything, steady, qstrs = report
    names = [r[0] for r in rows]
    assert names == [m for m, _ in heap_report.MODULES]
    for name, heap, nq, qb, size in rows:
        assert heap > 0 and size > 0 and nq is not None and qb is not None, name
    assert everything >= sum(r[1] for r in rows) * 0.9
    assert qstrs[0] > 500


def test_dropping_the_start_up_modules_frees_their_code(report):
    rows, everything, steady, _ = report
    dropped = sum(heap - qb for name, heap, _, qb, _ in rows if name in heap_report.DROPPED)
    assert dropped > 20000
    assert steady < everything - dropped * 0.8  # what the dropped modules held is really freed


def test_budget_sets_the_exit_status(report, capsys):
    assert heap_report.main(["--budget", "10000000"]) == 0
    assert heap_report.main(["--budget", "1000"]) == 1
    out = capsys.readouterr().out
    assert "| session |" in out and "steady state" in out and "over the budget" in out
