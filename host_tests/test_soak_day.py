"""tools/soak_day.py: a simulated day with faults; its outcomes, and that it notices when one is off."""

import json
import os
import subprocess
import sys

import pytest
import soak_day

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def day():
    return soak_day.soak(24, 1)


def test_no_crash_no_gap_no_watchdog_reboot(day):
    assert day["crashes"] == 0, day["crash_texts"]
    assert day["gaps_outside_outages"] == 0
    assert day["longest_gap_outside_s"] <= 60
    assert day["wdt_late_feeds"] == 0 and day["wdt_longest_s"] < soak_day.WDT_MS / 1000


def test_every_record_arrives_once_with_its_created_time(day):
    assert day["records_made"] > 2700  # one every 30 s for a day, less the outages
    assert day["records_received"] == day["records_made"]
    assert day["records_lost"] == day["records_unexpected"] == day["records_twice"] == 0
    assert day["records_same_created"] == 0  # a reading is never sent twice (fix in App.make_record)
    assert day["empty_slots_outside_outages"] == 0 and day["slots_over_2"] == 0
    assert day["backlog_left"] == 0
    # the reboot happened with records waiting and the new App loaded all of them from flash
    assert day["backlog_at_reboot"] > 30 and day["backlog_after_reboot"] == day["backlog_at_reboot"]


def test_the_faults_really_happened(day):
    assert day["answers_dropped"] > 100
    assert day["reauths"] == 1 and day["join_failures"] == 1
    assert day["garbage_lines"] > 20 and day["split_lines"] > 100
    assert day["paused_seen"]  # EVENT 32 paused the session
    assert day["wifi_drops"] >= 1
    assert day["ambient_500"] > 200 and day["ambient_timeouts"] > 30
    assert day["rejoins"] >= 1


def test_requests_per_hour_stay_near_one_per_refresh(day):
    assert 250 <= day["requests_per_hour_min"] and day["requests_per_hour_max"] <= 600
    assert 330 <= day["requests_per_hour_mean"] <= 400


def test_no_credential_in_the_log(day):
    assert day["log_lines"] > 100 and day["credential_leaks"] == 0 and day["log_errors"] == 0
    assert day["ambient_bad_key"] == 0
    assert day["ok"]


def test_another_seed_is_fine_too():
    out = soak_day.soak(24, 2)
    assert out["ok"], out


def test_a_lost_record_is_noticed(monkeypatch):
    orig = soak_day.FakeAmbient.__call__

    def lossy(self, url, body, timeout_s):
        status = orig(self, url, body, timeout_s)
        if status == 200 and len(self.records) > 50 and not getattr(self, "lost", 0):
            self.records.pop()  # the stand-in says 200 but loses one
            self.lost = 1
        return status

    monkeypatch.setattr(soak_day.FakeAmbient, "__call__", lossy)
    out = soak_day.soak(3, 1)
    assert out["records_lost"] == 1 and not out["ok"]


def test_a_stalled_loop_is_noticed(monkeypatch):
    from app import loop as app_mod

    orig = app_mod.App.healthy
    monkeypatch.setattr(
        app_mod.App, "healthy", lambda self, now=None: orig(self, now) and self.uptime_s < 3000
    )
    out = soak_day.soak(2, 1)
    assert out["wdt_late_feeds"] >= 1 and not out["ok"]


def test_command_line_prints_the_table_and_exits_0():
    p = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "soak_day.py"), "--hours", "4"],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "| crashes (exceptions escaping App.step) | 0 | 0 |" in p.stdout
    assert "**ok**" in p.stdout
    j = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "soak_day.py"), "--hours", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert j.returncode == 0 and json.loads(j.stdout)["crashes"] == 0
