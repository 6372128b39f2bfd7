"""What a new user hit following the README (issue 11, "Bugs a new user hit"): each fails without its fix."""

import json
import os
import subprocess
import sys

import log
import pytest
import run as host_run
from app import config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = {
    "id": "0123456789ABCDEF0123456789ABCDEF",
    "password": "PASSWORD1234",
    "contract_amperage": 30,
    "collect_date": 1,
    "charge_func": "tepco_b",
}


@pytest.fixture
def captured():
    lines = []
    log.set_sink(lines.append)
    yield lines
    log.set_sink(print)


def test_a_missing_config_is_reported_at_once_not_waited_on_in_silence(tmp_path, captured):
    path = str(tmp_path / "missing.json")
    polls = []

    def stop():
        return len(polls) >= 2

    cfg = host_run.load_config_waiting(path, stop, sleep=polls.append)
    assert cfg is None
    errors = [ln for ln in captured if ln.startswith("ERROR ")]
    assert any("not found" in ln and "missing.json" in ln for ln in errors), captured
    assert any("waiting for the file to change" in ln for ln in errors), captured


def test_a_utf8_byte_order_mark_is_not_a_json_error():
    text = "\ufeff" + json.dumps(GOOD)
    cfg = config.load(text.encode("utf-8"))
    assert cfg["contract_amperage"] == 30


def test_a_json_error_names_its_line_and_column():
    text = (
        '{\n  "id": "0123456789ABCDEF0123456789ABCDEF",\n  "password": "PASSWORD1234"\n'
        '  "collect_date": 1\n}'
    )
    with pytest.raises(config.ConfigError) as e:
        config.load(text)
    # the missing comma: line 4 ("  \"collect_date\": 1"), column 3 where the next key starts
    assert e.value.problems == ["file: not valid JSON at line 4, column 3 (check quotes, commas and braces)"]
    assert "PASSWORD1234" not in str(e.value.problems)


def test_a_wrong_serial_port_gives_a_clear_message_and_no_traceback(tmp_path):
    cfg = tmp_path / "SmartMeter.json"
    cfg.write_text(json.dumps(GOOD))
    r = subprocess.run(
        [sys.executable, "host/run.py", "--config", str(cfg), "--serial", "/dev/no-such-port", "--no-screen"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "cannot open serial port /dev/no-such-port" in out
    assert "Traceback" not in out
    assert GOOD["password"] not in out and GOOD["id"] not in out


def test_make_run_without_serial_says_what_to_add():
    r = subprocess.run(
        ["make", "--no-print-directory", "run", "SERIAL=", "VPY=" + sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    assert "make run SERIAL=/dev/ttyUSB0" in r.stdout + r.stderr
    assert "usage:" not in r.stdout + r.stderr  # not argparse's error


def test_the_pty_bridge_accepts_the_configs_credentials(tmp_path):
    import pty_bridge

    cfg = tmp_path / "SmartMeter.json"
    cfg.write_text("\ufeff" + json.dumps(GOOD), encoding="utf-8")
    args = pty_bridge.parse_args(["--config", str(cfg)])
    assert (args.rbid, args.password) == ("0123456789ABCDEF0123456789ABCDEF", "PASSWORD1234")


def test_host_mode_can_run_without_posting_to_ambient():
    args = host_run.parse_args(["--config", "x.json", "--serial", "/dev/null", "--no-ambient"])
    assert args.no_ambient is True


def test_the_demo_config_does_not_dim_the_simulator():
    cfg = host_run.demo_config("0123456789ABCDEF0123456789ABCDEF", "PASSWORD1234")
    assert cfg["display"]["night"] is None


def test_a_tariff_plug_in_beside_the_config_validates_and_is_deployed(tmp_path):
    plugin = tmp_path / "my_tariff.py"
    plugin.write_text("def charge(contract_amperage, kwh):\n    return 1000 + 30 * kwh\n")
    cfg = tmp_path / "SmartMeter.json"
    doc = dict(GOOD, charge_func="my_tariff", wifi={"ssid": "home", "password": "wifi-secret-1"})
    cfg.write_text(json.dumps(doc))
    r = subprocess.run(
        [sys.executable, "tools/deploy.py", "--config", str(cfg), "--dry-run", "--port", "/dev/ttyUSB9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    copy = [ln for ln in r.stdout.splitlines() if ln.startswith("$ ") and " fs cp " in ln][-1]
    assert "%s :/lib/my_tariff.py" % plugin in copy
    assert "wifi-secret-1" not in r.stdout and GOOD["password"] not in r.stdout
