"""Common-subset tests: run by pytest on CPython and by tools/mptest.py on MicroPython."""

import log
import ticks


def test_ticks_diff_wraps():
    near_end = (1 << 30) - 5
    later = ticks.ticks_add(near_end, 10)
    assert later == 5
    assert ticks.ticks_diff(later, near_end) == 10
    assert ticks.ticks_diff(near_end, later) == -10
    assert ticks.expired(later, near_end)
    assert not ticks.expired(near_end, later)


def test_log_scrubs_secrets():
    lines = []
    log.set_sink(lines.append)
    try:
        log.secret("ABCDEF123456")
        log.info("join with %s failed", "ABCDEF123456")
        log.debug("hidden at INFO")
    finally:
        log.set_sink(print)
    assert lines == ["INFO join with *** failed"]
