"""Config validation on both interpreters (plain asserts: also run by `make test-mp`)."""

import json

from app import config
import log

RBID = "0000003A0000000000000000009F1C2B"
PWD = "Sg7kPq2Xz9Lm"
WKEY = "0123456789abcdef"


def _legacy():
    return {
        "id": RBID,
        "password": PWD,
        "contract_amperage": "50",
        "charge_func": "tokyo_gas_1",
        "collect_date": "22",
        "ambient": {"channel_id": "12345", "write_key": WKEY},
    }


def _problems(doc, device=False):
    text = doc if isinstance(doc, str) else json.dumps(doc)
    try:
        config.load(text, device)
    except config.ConfigError as e:
        return e.problems
    raise AssertionError("config accepted")


def test_legacy_config_loads_with_defaults():
    cfg = config.load(json.dumps(_legacy()))
    assert cfg["contract_amperage"] == 50
    assert cfg["collect_date"] == 22
    assert cfg["ambient"]["interval"] == 30
    assert cfg["ambient"]["url"] == "http://ambidata.io"
    assert cfg["uart"]["tx"] == 0 and cfg["uart"]["rx"] == 26
    assert cfg["utc_offset_s"] == 9 * 3600
    assert cfg["refresh_interval"] == 10
    assert cfg["module"] == "auto"
    assert cfg["display"]["night"] is None


def test_all_problems_at_once_without_secrets():
    doc = _legacy()
    doc["password"] = PWD + "X"  # wrong length: must not be shown
    doc["contract_amperage"] = "55"
    doc["collect_date"] = "0"
    doc["uart"] = {"tx": 36}
    doc["display"] = {"night": {"start": "24:00", "end": "06:00"}}
    problems = _problems(doc)
    keys = [p.split(":")[0] for p in problems]
    assert keys == ["password", "contract_amperage", "collect_date", "uart.tx", "display.night.start"], keys
    assert "expected a string of 12 characters" in problems[0]
    text = " ".join(problems)
    assert PWD not in text and "55" in text


def test_wrong_types_and_file_level_errors():
    assert _problems("")[0].startswith("file: empty")
    assert _problems("{oops")[0].startswith("file: not valid JSON")
    assert _problems("[]")[0].startswith("file: expected a JSON object")
    doc = _legacy()
    doc["id"] = 7
    doc["ambient"] = {"channel_id": "XXXXX", "write_key": 5}
    problems = _problems(doc)
    assert problems[0] == "id: expected a string of 32 characters (letters and digits, no spaces)"
    assert problems[1].startswith("ambient.channel_id: expected the channel number")
    assert problems[2].startswith("ambient.write_key: expected a string of 16")
    assert _problems(_legacy(), device=True)[0].startswith("wifi: missing")


def test_secrets_registered_with_log():
    lines = []
    log.set_sink(lines.append)
    try:
        config.load(json.dumps(_legacy()))
        log.info("id=%s pwd=%s key=%s", RBID, PWD, WKEY)
    finally:
        log.set_sink(print)
    assert lines == ["INFO id=*** pwd=*** key=***"], lines


# --- the app loop with a scripted session (same code on both interpreters) ---


def _tmpdir():
    import os

    try:
        import tempfile

        return tempfile.mkdtemp()
    except ImportError:  # MicroPython: no tempfile
        d = "/tmp_app_%d" % len(os.listdir("/"))
        os.mkdir(d)
        return d


class _Clock:
    def __init__(self):
        self.ms = (1 << 30) - 5000  # the ticks wrap during the test
        self.unix = 1767225600  # 2026-01-01 09:00 JST

    def ticks(self):
        return self.ms & ((1 << 30) - 1)

    def wall(self):
        return self.unix + (self.ms - ((1 << 30) - 5000)) // 1000

    def advance(self, ms):
        self.ms += ms


class _Reading:
    def __init__(self, t):
        self.t = t
        self.power_w = -1500
        self.current_r_da = -80
        self.current_t_da = None


class _Session:
    def __init__(self, clock):
        self.clock = clock
        self.state = "ready"
        self.status = "Connected"
        self.progress = 100
        self.error = None
        self.reading = None
        self.period_kwh = 12.5
        self.period_reverse_kwh = 3.25
        self.today = None
        self.info = {}
        self.next_ms = clock.ms
        self.closed = False

    def poll(self):
        if self.clock.ms >= self.next_ms:
            self.next_ms = self.clock.ms + 10000
            self.reading = _Reading(self.clock.ticks())

    def wait_ms(self):
        return 1000

    def request_today(self):
        pass

    def close(self, deadline_ms=3000, idle=None):
        self.closed = True
        return True


def _run(a, clock, seconds):
    end = clock.ms + seconds * 1000
    while clock.ms < end:
        ms = a.step()
        assert 0 <= ms <= 1000
        clock.advance(ms if ms > 0 else 1)


def test_app_store_and_forward_on_this_interpreter():
    from app import loop

    d = _tmpdir()
    clock = _Clock()
    session = _Session(clock)
    got = []
    mode = ["down"]

    def post(url, body, timeout_s):
        if mode[0] == "down":
            raise OSError(110)
        doc = json.loads(body)
        assert doc["writeKey"] == WKEY
        got.extend(doc["data"] if url.endswith("/dataarray") else [doc])
        return 200

    doc = _legacy()
    doc["ambient"]["url"] = "http://127.0.0.1:9"
    cfg = config.load(json.dumps(doc))
    presses = ["b", None, "a_long", "A"]
    flips = []
    a = loop.App(
        cfg,
        None,
        clock.ticks,
        clock.wall,
        http_post=post,
        state_path=d + "/state.json",
        backlog_path=d + "/backlog",
        session=session,
        buttons=lambda: presses.pop(0) if presses else None,
        set_flip=flips.append,
    )
    _run(a, clock, 125)  # four records while Ambient is unreachable
    assert len(a.amb.backlog) == 4 and a.amb.failed >= 1 and got == []
    assert a.screen == "today" and a.flip and flips == [False, True]
    mode[0] = "ok"
    _run(a, clock, 120)
    assert len(a.amb.backlog) == 0
    assert len(got) == 8, len(got)
    created = [r["created"] for r in got]
    assert created == sorted(created)
    r = got[-1]
    assert r["d1"] == -8.0 and r["d2"] == -1.5 and r["d3"] == 12.5 and r["d5"] == 3.25
    assert r["d4"] == a.tariff.charge(50, 12.5)
    v = a.fill_view()
    assert v.amb_ok == 8 and v.amb_buffered == 0 and v.power_w == -1500
    a.close()
    assert session.closed
