"""collect_date schedules and the new tariff keys through app.config (runs on MicroPython too)."""

import json

import billing
from app import config
from testkit import raises

BASE = {
    "id": "0000003A0000000000000000009F1C2B",
    "password": "Sg7kPq2Xz9Lm",
    "contract_amperage": 30,
    "collect_date": 20,
    "tariff": "tepco_b",
}


def _load(**changes):
    cfg = dict(BASE)
    cfg.update(changes)
    return config.load(json.dumps(cfg))


def _problems(**changes):
    return raises(config.ConfigError, _load, **changes).problems


def test_collect_date_schedule():
    cfg = _load(collect_date={"2026-12": 21, "2027-01": 22, "default": 20})
    rd = cfg["collect_date"]
    assert billing.billing_period_start(rd, 2026, 12, 25) == (2026, 12, 21)
    assert billing.billing_period_end(rd, 2026, 12, 25) == (2027, 1, 21)
    assert _load(collect_date="22")["collect_date"] == 22  # the earlier monitor's string


def test_collect_date_errors_name_the_key():
    for v, words in (
        ({"2026-12": 21}, 'missing "default"'),
        ({"2026-12": 40, "default": 20}, "1 to 31"),
        ({"Dec": 21, "default": 20}, "YYYY-MM"),
        (32, "1 to 31"),
    ):
        ps = _problems(collect_date=v)
        assert any(p.startswith("collect_date") and words in p for p in ps), (v, ps)


def test_tariff_with_bands_and_adjustments():
    spec = {
        "preset": "tepco_smartlife_s",
        "basic_per_10a": 311.75,
        "adjustments": {"fuel": {"2026-11": -1.23}, "levy": {"2026-05": 3.98}},
    }
    cfg = _load(tariff=spec)
    assert cfg["tariff"] == spec
    ps = _problems(tariff={"preset": "tepco_smartlife_s"})
    assert any("tariff" in p and "basic" in p for p in ps), ps
    ps = _problems(tariff={"preset": "tepco_b", "adjustments": {"fuel": {"2026-1": 1}}})
    assert any(p.startswith("tariff.adjustments.fuel") for p in ps), ps
    ps = _problems(tariff={"bands": [{"time": "01:00-06:00", "yen": 1}]})
    assert any(p.startswith("tariff.bands") and "no band for" in p for p in ps), ps
