"""Config validation on CPython and MicroPython: defaults, table-driven bad configs, secrets never shown.

Plain asserts: run by pytest and by tools/mptest.py (`make test-mp`, `make test-mp32`). The example
file and docs/config.md are checked on CPython (test_config_files.py: they are not in the VM).
"""

import json
import sys

import log
from app import config
from testkit import raises, tmpdir

RBID = "0000003A0000000000000000009F1C2B"
PWD = "Sg7kPq2Xz9Lm"
WKEY = "0123456789abcdef"
WIFI_PW = "wifi-secret-pass"
SECRETS = (RBID, PWD, WKEY, WIFI_PW)

# a config written for the earlier monitor: numbers as strings, Ambient without url or interval
LEGACY = {
    "id": RBID,
    "password": PWD,
    "contract_amperage": "50",
    "charge_func": "tokyo_gas_1",
    "collect_date": "22",
    "ambient": {"channel_id": "12345", "write_key": WKEY},
}
DELETE = object()


def with_(base=None, **changes):
    """LEGACY (or base) as JSON text with changes; a__b names the key b inside a; DELETE removes a key."""
    cfg = json.loads(json.dumps(base or LEGACY))
    for key, value in changes.items():
        node = cfg
        parts = key.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        if value is DELETE:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return json.dumps(cfg)


def problems_of(text, device=False):
    return raises(config.ConfigError, config.load, text, device).problems


def test_legacy_file_loads_unchanged_with_defaults():
    cfg = config.load(json.dumps(LEGACY))
    assert cfg["id"] == RBID and cfg["password"] == PWD
    assert cfg["contract_amperage"] == 50 and cfg["collect_date"] == 22
    assert cfg["charge_func"] == "tokyo_gas_1" and cfg["tariff"] is None
    assert cfg["ambient"] == {
        "channel_id": "12345",
        "write_key": WKEY,
        "url": "http://ambidata.io",
        "interval": 30,
    }
    assert cfg["wifi"] is None
    assert cfg["board"] == "m5stickc"
    assert cfg["uart"] == {"tx": 0, "rx": 26}
    assert cfg["module"] == "auto"
    assert cfg["utc_offset_hours"] == 9 and cfg["utc_offset_s"] == 32400
    assert cfg["display"] == {"brightness": 100, "night": None}
    assert cfg["refresh_interval"] == 10
    assert cfg["log_level"] == "info"
    assert cfg["warnings"] == []


def test_all_problems_at_once_in_file_order_without_secrets():
    doc = json.loads(with_())
    doc["password"] = PWD + "X"  # wrong length: must not be shown
    doc["contract_amperage"] = "55"
    doc["collect_date"] = "0"
    doc["uart"] = {"tx": 36}
    doc["display"] = {"night": {"start": "24:00", "end": "06:00"}}
    problems = problems_of(json.dumps(doc))
    keys = [p.split(":")[0] for p in problems]
    assert keys == ["password", "contract_amperage", "collect_date", "uart.tx", "display.night.start"], keys
    assert "expected a string of 12 characters" in problems[0]
    text = " ".join(problems)
    assert PWD not in text and "55" in text


def test_wrong_types_name_the_key():
    problems = problems_of(with_(id=7, ambient={"channel_id": "XXXXX", "write_key": 5}))
    assert problems[0] == "id: expected a string of 32 characters (letters and digits, no spaces)"
    assert problems[1].startswith("ambient.channel_id: expected the channel number")
    assert problems[2].startswith("ambient.write_key: expected a string of 16")
    assert problems_of(with_(), device=True)[0].startswith("wifi: missing")


def test_numbers_accepted_as_numbers_too():
    cfg = config.load(with_(contract_amperage=30, collect_date=1, ambient__channel_id=777))
    assert cfg["contract_amperage"] == 30 and cfg["collect_date"] == 1
    assert cfg["ambient"]["channel_id"] == "777"


def test_optional_keys_are_normalised():
    cfg = config.load(
        with_(
            board="M5StickC_Plus",
            uart={"tx": 0, "rx": 36},
            module="BP35C0",
            utc_offset_hours=5.5,
            display={"night": {"start": "22:30", "end": "6:05", "brightness": 0}},
            refresh_interval=30,
            log_level="DEBUG",
            ambient__url="http://127.0.0.1:8765/",
            ambient__interval=60,
        )
    )
    assert cfg["board"] == "m5stickc_plus" and cfg["module"] == "bp35c0"
    assert cfg["uart"] == {"tx": 0, "rx": 36}
    assert cfg["utc_offset_s"] == 19800
    assert cfg["display"]["night"] == {"start": 22 * 60 + 30, "end": 6 * 60 + 5, "brightness": 0}
    assert cfg["ambient"]["url"] == "http://127.0.0.1:8765"
    assert cfg["ambient"]["interval"] == 60
    assert cfg["refresh_interval"] == 30 and cfg["log_level"] == "debug"


def test_no_ambient_means_off():
    cfg = config.load(with_(ambient=DELETE))
    assert cfg["ambient"] is None
    assert config.load(with_(ambient=None))["ambient"] is None


def test_declarative_tariff_instead_of_charge_func():
    spec = {
        "name": "my plan",
        "basic": {"30": 885.72, "40": 1180.96, "50": 1476.20},
        "tiers": [[120, 29.80], [300, 36.40], [None, 40.49]],
    }
    try:
        cfg = config.load(with_(charge_func=DELETE, tariff=spec))
    except config.ConfigError as e:  # the tariff module names the keys it wants
        raise AssertionError("declarative tariff rejected: %s" % e.problems)
    assert cfg["tariff"] == spec and cfg["charge_func"] is None


# (changes, device, expected fragment of one problem)
BAD = [
    ({"id": DELETE}, False, "id: missing"),
    ({"id": ""}, False, "id: expected a string of 32 characters"),
    ({"id": RBID[:-1]}, False, "id: expected a string of 32 characters"),
    ({"id": 12345}, False, "id: expected a string of 32 characters"),
    ({"password": DELETE}, False, "password: missing"),
    ({"password": 123456789012}, False, "password: expected a string of 12 characters"),
    ({"password": "short"}, False, "password: expected a string of 12 characters"),
    ({"password": "has space 12"}, False, "password: expected a string of 12 characters"),
    ({"contract_amperage": "55"}, False, 'contract_amperage: expected one of 10,15,20,30,40,50,60, got "55"'),
    ({"contract_amperage": DELETE}, False, "contract_amperage: missing"),
    ({"contract_amperage": ""}, False, "contract_amperage: expected one of"),
    ({"contract_amperage": True}, False, "contract_amperage: expected one of"),
    ({"collect_date": "32"}, False, "collect_date: expected a whole number from 1 to 31"),
    ({"collect_date": "0"}, False, "collect_date: expected a whole number from 1 to 31"),
    ({"collect_date": DELETE}, False, "collect_date: missing"),
    ({"collect_date": [22]}, False, "collect_date: expected a whole number"),
    ({"charge_func": "no_such_tariff"}, False, "charge_func:"),
    ({"charge_func": ""}, False, "charge_func: expected a preset or plug-in name"),
    ({"charge_func": 3}, False, "charge_func: expected a preset or plug-in name"),
    ({"tariff": "tepco_b"}, False, 'tariff: give either "tariff" or "charge_func"'),
    ({"charge_func": DELETE, "tariff": 42}, False, "tariff: expected a preset name or a tariff object"),
    ({"ambient": "yes"}, False, "ambient: expected an object"),
    ({"ambient__channel_id": "XXXXX"}, False, "ambient.channel_id: expected the channel number"),
    ({"ambient__channel_id": DELETE}, False, "ambient.channel_id: missing"),
    (
        {"ambient__write_key": "XXXXXXXXXXXXXXXX"},
        False,
        "ambient.write_key: expected a string of 16 hex digits",
    ),
    ({"ambient__write_key": "abc"}, False, "ambient.write_key: expected a string of 16 characters"),
    ({"ambient__url": "ftp://x"}, False, "ambient.url: expected an http:// or https:// address"),
    ({"ambient__interval": 4}, False, "ambient.interval: expected a whole number from 5 to 86400"),
    ({"ambient__interval": "soon"}, False, "ambient.interval: expected a whole number"),
    ({}, True, "wifi: missing"),
    ({"wifi": {"ssid": "", "password": WIFI_PW}}, False, "wifi.ssid: expected the network name"),
    ({"wifi": {"ssid": "home", "password": "short"}}, False, "wifi.password: expected 8 to 63 characters"),
    ({"wifi": {"ssid": "home", "password": 12345678}}, False, "wifi.password: expected a string"),
    ({"wifi": ["home"]}, False, "wifi: expected an object"),
    ({"board": "m5stack"}, False, "board: expected one of m5stickc, m5stickc_plus, m5stickc_plus2"),
    ({"uart": {"rx": 37}}, False, "uart.rx: GPIO 37 is used by the button A"),
    ({"uart": {"tx": 36}}, False, "uart.tx: GPIO 36 is input-only"),
    ({"uart": {"tx": 40}}, False, "uart.tx: expected an ESP32 GPIO number"),
    ({"uart": {"tx": 6}}, False, "uart.tx: expected an ESP32 GPIO number"),
    ({"uart": {"tx": "zero"}}, False, "uart.tx: expected an ESP32 GPIO number"),
    ({"uart": {"tx": 26, "rx": 26}}, False, "uart: tx and rx must be different pins"),
    ({"uart": 0}, False, "uart: expected an object"),
    ({"module": "bp35c1-j11"}, False, "module: expected one of auto, bp35a1, bp35c0"),
    ({"utc_offset_hours": "9"}, False, "utc_offset_hours: expected hours from -12 to 14"),
    ({"utc_offset_hours": 15}, False, "utc_offset_hours: expected hours from -12 to 14"),
    ({"utc_offset_hours": 9.1}, False, "utc_offset_hours: expected hours"),
    ({"display": {"brightness": 101}}, False, "display.brightness: expected a whole number from 0 to 100"),
    (
        {"display": {"night": {"start": "25:00", "end": "06:00"}}},
        False,
        "display.night.start: expected a local time",
    ),
    ({"display": {"night": {"start": "23:00"}}}, False, "display.night.end: expected a local time"),
    ({"display": {"night": "23-6"}}, False, "display.night: expected an object"),
    ({"refresh_interval": 1}, False, "refresh_interval: expected a whole number from 5 to 3600"),
    ({"log_level": "trace"}, False, "log_level: expected one of info, debug"),
]


def test_bad_config_names_the_key():
    lines = []
    log.set_sink(lines.append)
    try:
        for changes, device, fragment in BAD:
            problems = problems_of(with_(**changes), device)
            assert any(fragment in p for p in problems), (fragment, problems)
            text = "\n".join(problems)
            for s in SECRETS + secret_values(changes):
                assert s not in text, fragment
    finally:
        log.set_sink(print)


def secret_values(changes):
    """The string values a change puts under a secret key (never to be echoed)."""
    out = []
    for key, value in changes.items():
        if key == "wifi" and isinstance(value, dict):
            value = value.get("password")
        elif key not in ("id", "password", "ambient__write_key"):
            continue
        if isinstance(value, (str, int)) and len(str(value)) >= 4:
            out.append(str(value))
    return tuple(out)


def test_every_problem_reported_at_once():
    problems = problems_of(
        json.dumps(
            {
                "id": "x",
                "password": 5,
                "contract_amperage": "55",
                "collect_date": "40",
                "board": "nope",
                "refresh_interval": 0,
            }
        )
    )
    keys = [p.split(":")[0] for p in problems]
    for k in ("id", "password", "contract_amperage", "collect_date", "board", "refresh_interval"):
        assert k in keys, problems


def test_file_level_problems():
    for text, fragment in (
        ("", "file: empty"),
        ("   \n", "file: empty"),
        ("{not json", "file: not valid JSON"),
        ("{oops", "file: not valid JSON"),
        ("[1, 2]", "file: expected a JSON object"),
        ("[]", "file: expected a JSON object"),
        ("null", "file: expected a JSON object"),
        (b"\xff\xfe{}", "file: not UTF-8"),
        ("{}" + " " * 20000, "file: too large"),
    ):
        problems = problems_of(text)
        assert len(problems) == 1 and problems[0].startswith(fragment), problems
        assert PWD not in problems[0] and RBID not in problems[0]


def test_a_trailing_comma():
    text = '{"id": "' + RBID + '", "password": "' + PWD + '",}'
    if sys.implementation.name == "micropython":  # its json accepts the comma: the keys are checked
        keys = [p.split(":")[0] for p in problems_of(text)]
        assert keys == ["contract_amperage", "collect_date", "charge_func"], keys
    else:
        problems = problems_of(text)
        assert len(problems) == 1 and problems[0].startswith("file: not valid JSON"), problems
        assert PWD not in problems[0] and RBID not in problems[0]


def test_secrets_registered_and_scrubbed_from_log():
    lines = []
    log.set_sink(lines.append)
    try:
        config.load(with_(wifi={"ssid": "home", "password": WIFI_PW}))
        for s in SECRETS:
            log.info("value %s", s)
        # a wrong-length secret is registered too: it must not leak in a later line
        problems_of(with_(password="WrongLen123456"))
        log.info("typed %s", "WrongLen123456")
    finally:
        log.set_sink(print)
    assert lines and all("***" in line for line in lines)
    joined = "\n".join(lines)
    for s in SECRETS + ("WrongLen123456",):
        assert s not in joined


def test_load_registers_the_secrets_with_log():
    lines = []
    log.set_sink(lines.append)
    try:
        config.load(with_())
        log.info("id=%s pwd=%s key=%s", RBID, PWD, WKEY)
    finally:
        log.set_sink(print)
    assert lines == ["INFO id=*** pwd=*** key=***"], lines


def test_unknown_keys_are_warnings_not_errors():
    cfg = config.load(with_(ambeint={"x": 1}, display={"brightnes": 5}))
    assert "ambeint: unknown key, ignored" in cfg["warnings"]
    assert "display.brightnes: unknown key, ignored" in cfg["warnings"]


def test_fast_ambient_interval_warns_about_the_daily_quota():
    cfg = config.load(with_(ambient__interval=10))
    assert any("ambient.interval" in w and "8640" in w for w in cfg["warnings"])


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_load_file_missing_huge_and_stamp():
    d = tmpdir()
    missing = d + "/none.json"
    assert "not found" in raises(config.ConfigError, config.load_file, missing).problems[0]
    assert config.file_stamp(missing) is None
    huge = d + "/huge.json"
    _write(huge, "{" + " " * (config.MAX_BYTES + 10) + "}")
    assert "too large" in raises(config.ConfigError, config.load_file, huge).problems[0]
    good = d + "/good.json"
    text = json.dumps(LEGACY)
    _write(good, text)
    assert config.load_file(good)["collect_date"] == 22
    stamp = config.file_stamp(good)
    assert stamp is not None and stamp[0] == len(text)


def test_config_error_message_joins_problems():
    e = config.ConfigError(["a: x", "b: y"])
    assert str(e) == "a: x; b: y" and e.problems == ["a: x", "b: y"]
