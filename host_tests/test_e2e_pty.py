"""End to end through a real serial line: the simulator behind a pty (host/pty_bridge.py), the app
talking to it with pyserial (host/serial_uart.py), Ambient posts to a local stand-in over HTTP."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import demo
import pty_bridge
import pytest
import run as host_run
from app import loop as app_mod
from fake_ambient import FakeAmbient
from serial_uart import SerialUart
from test_e2e_sim import check_records, tepco_b_40_yen, unix

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RBID = pty_bridge.bp35a1.DEFAULT_ID
PWD = pty_bridge.bp35a1.DEFAULT_PASSWORD
WKEY = demo.WRITE_KEY
SPEED = 60.0  # simulated seconds per real second


class BridgeThread:
    """The simulator on a pty, served from a thread on a virtual clock running SPEED x real time."""

    def __init__(self, start, **kw):
        args = pty_bridge.parse_args([])
        for k, v in kw.items():
            setattr(args, k, v)
        self.module, self.clock = pty_bridge.make_module(args, start)
        self.master, self.slave = os.openpty()
        import termios
        import tty

        tty.setraw(self.slave)
        attrs = termios.tcgetattr(self.slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        self.path = os.ttyname(self.slave)
        self.bridge = pty_bridge.Bridge(self.module, self.clock, self.master, SPEED)
        self._stop = False
        self.error = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            self.bridge.serve(lambda: self._stop)
        except Exception as e:  # surfaced by the test
            self.error = e

    def stop(self):
        self._stop = True
        self.thread.join(5)
        os.close(self.master)
        os.close(self.slave)


@pytest.mark.parametrize(
    "case",
    [
        # 3 December, reading day 22: the period started in November; 3-wire, import
        {"start": unix(2026, 12, 3, 18, 0), "meter": {}, "collect_date": "22", "period": unix(2026, 11, 22)},
        # June noon, 6 kW solar, 2-wire meter: negative power and current, export in d5
        {
            "start": unix(2026, 6, 10, 11, 30),
            "meter": {"solar": 6000, "wires": 2},
            "collect_date": "1",
            "period": unix(2026, 6, 1),
        },
    ],
    ids=["import-month-boundary", "export-single-phase"],
)
def test_app_over_a_pty_posts_what_the_meter_measured(tmp_path, case):
    bridge = BridgeThread(case["start"], **case["meter"])
    fake = FakeAmbient(write_keys={demo.CHANNEL: WKEY}, clock=bridge.clock.wall, enforce_limits=True).start()
    uart = SerialUart(bridge.path)
    try:
        cfg = demo.config(fake.url, collect_date=case["collect_date"])
        a = app_mod.App(
            cfg,
            uart,
            bridge.clock.ticks_ms,
            bridge.clock.wall,
            http_post=host_run.http_post,
            state_path=str(tmp_path / "state.json"),
            backlog_path=str(tmp_path / "backlog"),
        )
        deadline = time.monotonic() + 60
        while len(fake.records) < 8 and time.monotonic() < deadline:
            ms = a.step()
            uart.wait(ms / SPEED)
        a.close(3000)
    finally:
        uart.close()
        bridge.stop()
        fake.stop()
    assert bridge.error is None, bridge.error
    recs = fake.records
    assert len(recs) >= 8, (len(recs), a.session.status, a.session.error)
    solar = bool(case["meter"].get("solar"))
    check_records(recs, bridge.module.meter, case["period"], reverse=solar)
    if solar:
        assert any(r["d2"] < 0 for r in recs) and a.session.reading.current_t_da is None
    else:
        assert all(r["d2"] > 0 for r in recs)
        assert recs[-1]["d4"] == tepco_b_40_yen(recs[-1]["d3"])
    assert any(bytes(line).startswith(b"SKTERM") for line in bridge.module.lines), "no SKTERM at close"


def _spawn(args, **kw):
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        **kw,
    )


def _collect(p, lines):
    for line in p.stdout:
        lines.append(line.rstrip("\n"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_make_run_against_the_pty_bridge_stops_politely(tmp_path, sig):
    """`make run SERIAL=<pty>` in real time against `host/pty_bridge.py` (module time runs 10x)."""
    bridge = _spawn([os.path.join(ROOT, "host", "pty_bridge.py"), "--speed", "10"])
    fake = FakeAmbient(write_keys={demo.CHANNEL: WKEY}).start()
    run = None
    lines = []
    try:
        path = bridge.stdout.readline().strip()
        assert path.startswith("/dev/"), path
        cfg = tmp_path / "SmartMeter.json"
        doc = demo.doc(fake.url, contract_amperage="30", collect_date="10", refresh_interval=5)
        doc["ambient"]["interval"] = 5
        cfg.write_text(json.dumps(doc))
        run = _spawn(
            [os.path.join(ROOT, "host", "run.py"), "--config", str(cfg), "--serial", path, "--no-screen"]
        )
        reader = threading.Thread(target=_collect, args=(run, lines), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (fake.records and any("reading:" in x for x in lines)):
            if run.poll() is not None:
                break
            time.sleep(0.1)
        assert fake.records, "\n".join(lines)
        run.send_signal(sig)
        code = run.wait(30)
        reader.join(5)
    finally:
        for p in (run, bridge):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        fake.stop()
    text = "\n".join(lines)
    assert code == 0, text
    assert "B-route session ended" in text, text
    assert "Traceback" not in text
    assert PWD not in text and RBID not in text and WKEY not in text
    assert (tmp_path / "SmartMeter.state.json").exists(), "session cache kept for a warm restart"
