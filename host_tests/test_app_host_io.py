"""Host-side I/O of the app: the pyserial UART wrapper and the local Ambient stand-in."""

import json
import os
import select
import threading
import time
import urllib.error
import urllib.request

import pytest
import run as host_run
import serial_uart
from fake_ambient import MAX_BATCH, FakeAmbient


def post(url, doc, timeout=2.0):
    return host_run.http_post(url, json.dumps(doc).encode(), timeout)


# --- SerialUart on a pty ---------------------------------------------------------------------


@pytest.fixture
def pty_pair():
    import termios
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


class SelectSpy:
    """serial_uart's select module, recording each select() call: (read fds, timeout s, readable fds)."""

    def __init__(self):
        self.calls = []

    def select(self, r, w, x, timeout):
        got = select.select(r, w, x, timeout)
        self.calls.append((list(r), timeout, got[0]))
        return got


def until(cond, timeout_s=5.0):
    """Poll cond() until true or timeout_s passes (a bound, not a measurement); returns cond()."""
    end = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < end:
        time.sleep(0.005)
    return cond()


def test_serial_uart_is_non_blocking_both_ways(pty_pair, monkeypatch):
    master, path = pty_pair
    spy = SelectSpy()
    monkeypatch.setattr(serial_uart, "select", spy)
    u = serial_uart.SerialUart(path)
    try:
        fd = u._port.fileno()
        buf = bytearray(64)
        assert u.any() == 0 and u.readinto(buf) is None and u.read() is None
        u.wait(50)  # nothing to read: waits on the port for up to 50 ms, and nothing arrived
        assert spy.calls == [([fd], 0.05, [])]
        assert u.write(b"SKVER\r\n") == 7
        assert os.read(master, 100) == b"SKVER\r\n"
        os.write(master, b"EVER 1.2.10\r\n")
        assert until(lambda: u.any() == 13)
        u.wait(2000)  # bytes are waiting: returns without sleeping
        assert len(spy.calls) == 1
        assert u.readinto(buf) == 13 and bytes(buf[:13]) == b"EVER 1.2.10\r\n"
        # bytes that arrive during a wait end it: select reports the port readable, not a time-out
        timer = threading.Timer(0.05, os.write, (master, b"OK\r\n"))
        timer.start()
        try:
            u.wait(30000)
        finally:
            timer.cancel()
        assert spy.calls[-1] == ([fd], 30.0, [fd])
        assert until(lambda: u.any() == 4) and u.readinto(buf) == 4 and bytes(buf[:4]) == b"OK\r\n"
        os.write(master, b"\xff" * 100)  # more than the buffer: two reads, nothing lost
        assert until(lambda: u.any() == 100)
        assert u.readinto(buf) == 64 and u.readinto(buf) == 36
    finally:
        u.close()
    assert u.readinto(bytearray(4)) is None and u.write(b"x") == 0  # closed: quiet, no reopen


def test_serial_uart_survives_a_lost_port(pty_pair, monkeypatch):
    master, path = pty_pair
    monkeypatch.setattr(serial_uart, "REOPEN_S", 0.0)
    notes = []
    u = serial_uart.SerialUart(path, log=notes.append)
    try:
        u._port.close()  # the dongle is pulled: pyserial raises on the next read
        assert u.readinto(bytearray(8)) is None
        assert u.errors == 1 and any("lost" in n for n in notes)
        assert u.any() == 0  # reopens (pyserial drops what was waiting)
        os.write(master, b"OK\r\n")
        assert until(lambda: u.any() == 4)
        buf = bytearray(8)
        assert u.readinto(buf) == 4 and bytes(buf[:4]) == b"OK\r\n"  # reopened
        assert any("reopened" in n for n in notes)
    finally:
        u.close()


def test_serial_uart_missing_port_raises_at_start():
    with pytest.raises(Exception):  # noqa: B017  (pyserial's SerialException)
        serial_uart.SerialUart("/dev/does-not-exist-smartmeter")


# --- the Ambient stand-in ----------------------------------------------------------------------


def test_fake_ambient_accepts_data_and_dataarray():
    with FakeAmbient(write_keys={"5": "k" * 16}) as fake:
        base = fake.url + "/api/v2/channels/5/"
        assert post(base + "data", {"writeKey": "k" * 16, "d1": 1.5, "created": 1000}) == 200
        rows = [{"d1": i, "created": 2000 + i} for i in range(3)]
        assert post(base + "dataarray", {"writeKey": "k" * 16, "data": rows}) == 200
        assert [r["d1"] for r in fake.records] == [1.5, 0, 1, 2]
        assert fake.records[0]["via"] == "data" and fake.records[1]["via"] == "dataarray"
        assert post(base + "data", {"writeKey": "wrong", "d1": 1}) == 403
        assert post(fake.url + "/api/v2/channels/6/data", {"writeKey": "k" * 16, "d1": 1}) == 403
        too_many = [{"d1": 1}] * (MAX_BATCH + 1)
        assert post(base + "dataarray", {"writeKey": "k" * 16, "data": too_many}) == 413
        assert post(base + "dataarray", {"writeKey": "k" * 16, "data": []}) == 400
        with urllib.request.urlopen(base + "data?n=2", timeout=2) as r:
            back = json.loads(r.read())
        assert [x["d1"] for x in back] == [2, 1]
        assert len(fake.records) == 4


def test_fake_ambient_injects_failures_and_limits():
    now = [1000.0]
    with FakeAmbient(clock=lambda: now[0], enforce_limits=True) as fake:
        url = fake.url + "/api/v2/channels/1/data"
        fake.fail(2, 500)
        assert post(url, {"writeKey": "x", "d1": 1}) == 500
        assert post(url, {"writeKey": "x", "d1": 1}) == 500
        assert post(url, {"writeKey": "x", "d1": 1}) == 200
        assert post(url, {"writeKey": "x", "d1": 2}) == 429  # within 5 s of the last send
        now[0] += 5.5
        assert post(url, {"writeKey": "x", "d1": 3}) == 200
        fake.stall(1, 5.0)
        with pytest.raises(OSError) as err:  # the client gives up at its own time-out: no answer
            post(url, {"writeKey": "x", "d1": 4}, timeout=0.3)
        assert "timed out" in str(err.value), repr(err.value)
        fake.drop(1)
        with pytest.raises((OSError, urllib.error.URLError)):
            post(url, {"writeKey": "x", "d1": 5})
        assert [r["d1"] for r in fake.records] == [1, 3]
        statuses = [p[1] for p in fake.posts]
        assert statuses[:5] == [500, 500, 200, 429, 200] and statuses[5:] == [None, None]
