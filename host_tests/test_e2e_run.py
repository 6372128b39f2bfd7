"""host/run.py as a user runs it: the simulator mode, Ctrl-C / SIGTERM, a config with problems."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import bp35a1
import demo
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "host", "run.py")
PWD = bp35a1.DEFAULT_PASSWORD


class Proc:
    """A run.py child whose output lines are collected on a thread."""

    def __init__(self, *args):
        self.p = subprocess.Popen(
            [sys.executable, RUN, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        self.lines = []
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(text in line for line in self.lines):
                return True
            if self.p.poll() is not None:
                self._t.join(2)
                return any(text in line for line in self.lines)
            time.sleep(0.05)
        return False

    def finish(self, timeout=60):
        try:
            code = self.p.wait(timeout)
        finally:
            if self.p.poll() is None:
                self.p.kill()
        self._t.join(5)
        return code

    @property
    def text(self):
        return "\n".join(self.lines)


def test_sim_runs_for_a_duration_and_writes_the_screen(tmp_path):
    png = tmp_path / "screen.png"
    p = Proc("--sim", "--speed", "0", "--duration", "400", "--no-screen", "--png", str(png))
    code = p.finish(120)
    assert code == 0, p.text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "session ready" in p.text
    last = [line for line in p.lines if "simulator: stopped after" in line]
    assert last, p.text
    sent = int(re.search(r"Ambient sent (\d+), failed (\d+)", last[0]).group(1))
    assert sent >= 12, last[0]  # 400 s / 30 s, minus the first reading's wait
    assert "B-route session ended" in p.text
    assert PWD not in p.text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_ends_the_session_politely_and_exits_0(tmp_path, sig):
    p = Proc("--sim", "--speed", "20", "--no-screen", "--state-dir", str(tmp_path))
    try:
        assert p.wait_for("session ready", 60), p.text
        assert p.wait_for("reading:", 30), p.text
        p.p.send_signal(sig)
        code = p.finish(30)
    finally:
        if p.p.poll() is None:
            p.p.kill()
    assert code == 0, p.text
    assert "B-route session ended" in p.text, p.text  # SKTERM answered by EVENT 27
    assert "Traceback" not in p.text


def test_config_problems_are_shown_and_waited_on(tmp_path):
    bad = demo.doc(password=PWD + "X", contract_amperage="55")  # a 13-character password: wrong, never shown
    path = tmp_path / "SmartMeter.json"
    path.write_text(json.dumps(bad))
    p = Proc("--sim", "--config", str(path), "--speed", "0", "--duration", "60", "--no-screen")
    try:
        assert p.wait_for("contract_amperage: expected one of", 30), p.text
        assert p.wait_for("password: expected a string of 12 characters", 5), p.text
        assert p.wait_for("waiting for the file to change", 5)
        assert p.p.poll() is None, "must wait for a fixed config, not exit"
        fixed = dict(bad, password=PWD, contract_amperage="50")
        path.write_text(json.dumps(fixed, indent=1))  # a different size: the change is seen at once
        code = p.finish(60)
    finally:
        if p.p.poll() is None:
            p.p.kill()
    assert code == 0, p.text
    # it waited for the change and then ran on the fixed file: the problems were shown once, before it
    waiting = [i for i, line in enumerate(p.lines) if "waiting for the file to change" in line]
    ready = [i for i, line in enumerate(p.lines) if "session ready" in line]
    assert len(waiting) == 1 and ready and ready[0] > waiting[0], p.text
    assert sum("contract_amperage: expected one of" in line for line in p.lines) == 1
    assert PWD + "X" not in p.text and PWD not in p.text
