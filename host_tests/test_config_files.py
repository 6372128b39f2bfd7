"""The shipped SmartMeter.example.json and docs/config.md against lib/app/config.py (CPython: the repo's
files are not in the MicroPython VM). The config rules themselves: common/test_config.py."""

import json
import os

from app import config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_example_file_is_valid_and_documented():
    with open(os.path.join(ROOT, "SmartMeter.example.json")) as f:
        text = f.read()
    cfg = config.load(text, device=True)
    assert cfg["display"]["night"] == {"start": 23 * 60, "end": 6 * 60, "brightness": 10}
    assert cfg["ambient"]["interval"] == 30
    with open(os.path.join(ROOT, "docs", "config.md")) as f:
        doc = f.read()
    raw = json.loads(text)
    keys = []
    for k, v in raw.items():
        keys.append(k)
        if isinstance(v, dict):
            for k2, v2 in v.items():
                keys.append(k + "." + k2)
                if isinstance(v2, dict):
                    keys.extend(k + "." + k2 + "." + k3 for k3 in v2)
    for k in keys:
        if k.count(".") < 2:
            assert "| `%s` |" % k in doc, k
    assert set(raw) == set(config.KEYS) - {"tariff", "mqtt"}  # optional sections the example leaves out
