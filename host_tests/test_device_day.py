"""The device day (tools/device_day, `make bench`) in short: 2 simulated hours with every fault of
the 24 h schedule (scaled), the app in the device-shaped MicroPython with the M5StickC's heap.

Needs ../shared/tools/micropython-esp32like/micropython (or MICROPYTHON_ESP32LIKE) and mosquitto
(the config has MQTT on): without them these tests fail and say where the VM should be or how to
install mosquitto, they do not skip.
"""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from device_day import build, report, world  # noqa: E402
from device_day import day as device_day  # noqa: E402

HOURS = 2.0


def _vm():
    vm = os.environ.get("MICROPYTHON_ESP32LIKE")
    if vm:
        build.VM = os.path.abspath(vm)
    build.use_tree(ROOT)
    build.check_vm()  # raises Missing (a failure, not a skip) with the path and the recipe


def _day(tmp, hours, lose=0, faults=True, mqtt=True):
    _vm()
    d = device_day.Day(hours, 1, lose=lose, faults=faults, mqtt=mqtt)
    d.run(str(tmp))
    return report.results(d)


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    return _day(tmp_path_factory.mktemp("device_day"), HOURS)


@pytest.fixture(scope="module")
def day_no_mqtt(tmp_path_factory):
    """The same day with the bill's features on and no mqtt section (issues 10 and 12)."""
    return _day(tmp_path_factory.mktemp("device_day_no_mqtt"), HOURS, mqtt=False)


def test_the_day_runs_through_every_fault(day):
    kinds = {k for _, k in day["faults"]}
    assert kinds == {"drops", "event29", "event24", "garbage", "wifi", "ambient", "reboot"}
    assert day["stopped"], "the day did not reach its end"
    assert day["crashes"] == 0, day["errors"]
    assert [c for _, c in day["resets"]] == ["reboot"]
    assert day["readings"] > 500  # a reading every 10 s: 720 in 2 h, less the outages
    assert day["answers"]["500"] > 0 and day["answers"]["timeout"] > 0  # the Ambient fault was seen
    assert day["post_timeouts"] == day["answers"]["timeout"]  # each stall timed out in the VM


def test_no_memory_error_and_no_record_lost(day):
    assert day["memory_errors"] == 0, day["errors"]
    assert day["spy"], "make_record was not wrapped in every boot"
    assert day["made"] > 150  # one per 30 s while readings are fresh
    assert day["lost"] == 0
    assert day["unexpected"] == 0 and day["made_twice"] == 0
    assert day["mismatches"] == 0, day["mismatch_text"]
    assert day["leaks"] == 0


def test_every_feature_is_on_and_mqtt_messages_arrive(day):
    assert day["features"].startswith("tariff with 3 bands, fuel 3 months + levy, collect_date schedule")
    assert day["mqtt"]
    # a state every 10 s while readings are fresh: 720 in 2 h, less the outages and reconnects
    assert day["mqtt_states"] > 300
    assert day["mqtt_configs"] >= 5  # one retained config per sensor (power, currents, kWh, yen ...)
    assert day["mqtt_config_msgs"] >= 2 * day["mqtt_configs"]  # sent again after the reboot
    assert day["mqtt_bad"] == []
    assert day["mqtt_status"].get("online", 0) >= 2  # one per boot
    assert day["mqtt_status"].get("offline", 0) >= 1  # the reset's last will
    assert not [p for p in report.problems(day) if "MQTT" in p]


def test_no_state_message_is_a_failure(day):
    assert not [p for p in report.problems(day) if "MQTT" in p]
    r = dict(day, mqtt_states=0)
    assert "MQTT configured but no state message arrived at the broker" in report.problems(r)
    r = dict(day, mqtt_configs=0)
    assert "MQTT configured but no discovery config arrived at the broker" in report.problems(r)


def test_the_mqtt_password_is_a_checked_secret():
    import harness

    doc = world.config(harness, "http://ambient.test:1", 1883)
    assert doc["mqtt"]["password"] == world.MQTT_PW
    assert world.MQTT_PW in world.secrets(harness)  # a log line showing it counts as a leak
    assert "mqtt" not in world.config(harness, "http://ambient.test:1")


def test_the_measurements_are_there(day):
    assert day["steady_samples"] >= 18  # 24 samples, those within 10 min of a boot left out
    assert day["cycles"] > 400
    assert 20000 < day["live_app_max"] < build.HEAP
    assert 0 < day["cycle_median"] <= day["cycle_max"]
    assert day["harness"] < 16 * 1024  # the stand-ins stay small
    assert all(h == day["harness"] for h in day["harness_per_boot"])  # the calibration holds per boot
    assert report.bench_line(day).startswith("BENCH heap_cap_B=111936 live_heap_B=%d " % day["live_app_max"])


def test_without_mqtt_the_live_heap_and_an_8_kb_block_fit(day_no_mqtt):
    d = day_no_mqtt
    assert d["features"].startswith("tariff with 3 bands") and not d["mqtt"]
    assert d["memory_errors"] == 0 and d["lost"] == 0
    assert d["live_app_max"] <= report.LIVE_BUDGET, d["live_app_max"]
    assert d["frag_fail"] == 0


def test_with_mqtt_an_8_kb_block_still_fits(day):
    assert day["frag_fail"] == 0  # the MQTT client collects before it connects (firmware/mqtt_umqtt.py)


@pytest.mark.xfail(
    strict=True,
    reason="issue 13: MQTT (lib/mqtt, the umqtt adapter, frozen umqtt.simple's module objects, the"
    " client) adds ~5.5 KB live: ~78 KB against the 72 KB budget; remove this marker when it fits",
)
def test_with_mqtt_the_live_heap_fits(day):
    assert day["live_app_max"] <= report.LIVE_BUDGET


@pytest.mark.xfail(
    strict=True,
    reason="issue 10: the half-hourly history fetch and bill update load ~10 KB of code for the call"
    " (10-40 KB a cycle) and some Ambient sends reach 4 KB; remove this marker (and make .ci/run gate"
    " on make bench-mp) when no cycle allocates 4 KB",
)
def test_refresh_cycles_stay_under_4_kb(day_no_mqtt):
    assert day_no_mqtt["cycle_max"] < report.CYCLE_BUDGET
    assert not report.problems(day_no_mqtt)


def test_a_record_that_never_arrives_is_counted_lost(tmp_path):
    # the stand-in answers 200 to the 5th and drops it; without MQTT (--no-mqtt), which is then no failure
    r = _day(tmp_path, 0.25, lose=5, faults=False, mqtt=False)
    assert r["made"] > 5
    assert r["lost"] == 1
    assert any("never received" in p for p in report.problems(r))
    assert not r["mqtt"] and r["mqtt_states"] is None
    assert not [p for p in report.problems(r) if "MQTT" in p]


def test_a_missing_vm_fails_and_names_the_recipe(capsys, monkeypatch):
    monkeypatch.setattr(build, "VM", build.VM)  # main() points it elsewhere: restored afterwards
    assert device_day.main(["--vm", "/nonexistent/micropython", "--hours", "0.1"]) == 2
    out = capsys.readouterr().out
    assert "/nonexistent/micropython" in out and "build.sh" in out
    assert out.strip().endswith("records_lost=NA")


def test_a_missing_mosquitto_fails_and_names_the_install_command(capsys, monkeypatch):
    _vm()
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(world.mosquitto, "SBIN", ("/nonexistent/",))
    assert device_day.main(["--hours", "0.1"]) == 2
    out = capsys.readouterr().out
    assert "mosquitto is not installed" in out and "apt-get install -y mosquitto" in out
    assert "--no-mqtt" in out
    assert out.strip().endswith("records_lost=NA")


def test_the_schedule_scales_with_the_run():
    full = world.schedule(24)
    short = world.schedule(2)
    assert [k for *_, k, _ in full] == [k for *_, k, _ in short]
    assert full[-1][0] == 12 * world.H and short[-1][0] == world.H  # the reboot midway
    for (at, end, *_), (sat, send, *_) in zip(full, short, strict=True):
        assert sat * 12 == at and (end is None or send * 12 == end)


def test_a_reading_is_an_answer_with_e7():
    get_res = bytes.fromhex("1081000102880105ff017203e7040000018be80400160012e0040001e276")
    assert world.has_e7(get_res)
    sna = bytes.fromhex("108102b402880105ff015204e7040000018be80400160012e0040001e276e300")
    assert world.has_e7(sna)  # E3 refused, E7 there
    no_e7 = bytes.fromhex("108102b502880105ff017203d30400000001e10101d70106")
    assert not world.has_e7(no_e7)
    refused = bytes.fromhex("108102b402880105ff015201e700")
    assert not world.has_e7(refused)
