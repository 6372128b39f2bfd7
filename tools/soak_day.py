"""A simulated day with faults: the whole app (CPython) against the BP35A1 + meter simulator.

24 h on the virtual clock with an in-process Ambient stand-in. Injected:
the meter silent for 10 minutes while the module keeps its PANA session
(readings must come back within the session's 60 s pace, without a
rejoin), one in three meter answers dropped for an hour, EVENT 29 expiry and
re-authentication, one EVENT 24 join failure (after the meter ends the
session), garbage bytes and split lines on the UART for two hours, the
transmit limit (EVENT 32 ... EVENT 33), Wi-Fi down for an hour, Ambient
answering 500 for 10 % of sends and timing out (no answer, not stored) for
3 %, and an abrupt reboot 10 h 30 min into the run, during the Wi-Fi
outage (a new App + Session over the same state and backlog files, no
close(); the module keeps its state).

Prints a Markdown table and exits 1 when an outcome is off:
  crashes (exceptions escaping App.step) 0; refresh gaps > 60 s outside the
  injected outages 0; every record made arrives at Ambient with its created
  time (none lost, none twice); 30 s slots without a record outside outages 0;
  watchdog: intervals between feeds longer than WDT_MS 0.

  .venv/bin/python tools/soak_day.py [--hours 24] [--seed 1] [--json]
"""

import json
import os
import random
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _sub in ("lib", "sim"):
    _p = os.path.join(ROOT, _sub)
    if _p not in sys.path:
        sys.path.insert(0, _p)

import harness  # noqa: E402
import log  # noqa: E402
from app import config  # noqa: E402
from app import loop as app_mod  # noqa: E402

H = 3600 * 1000
MIN = 60 * 1000
WDT_MS = 60000  # firmware/device.py
GAP_MS = 60000
SLOT_MS = 30000
START = 1764723600  # 2025-12-03 10:00 JST
RBID = harness.bp35a1.DEFAULT_ID
PWD = harness.bp35a1.DEFAULT_PASSWORD
WKEY = "5a0c0123456789ab"
WIFI_PWD = "wifi-Secret-42"


class FakeAmbient:
    """In-process Ambient: http_post(url, body, timeout_s) -> status; stores records by created time."""

    def __init__(self, clock, online, seed=1, fail500=0.10, timeouts=0.03):
        self.clock = clock
        self.online = online
        self.rnd = random.Random(seed)
        self.fail500 = fail500
        self.timeouts = timeouts
        self.records = []
        self.posts = 0
        self.errors = {500: 0, "timeout": 0, "offline": 0}
        self.bad_key = 0

    def __call__(self, url, body, timeout_s):
        if not self.online():
            self.errors["offline"] += 1
            raise OSError(113, "EHOSTUNREACH")
        self.posts += 1
        x = self.rnd.random()
        if x < self.timeouts:
            self.errors["timeout"] += 1
            self.clock.advance(timeout_s * 1000)  # the request blocks until its timeout
            raise OSError(110, "ETIMEDOUT")
        if x < self.timeouts + self.fail500:
            self.errors[500] += 1
            return 500
        doc = json.loads(body)
        if doc.get("writeKey") != WKEY:
            self.bad_key += 1
            return 403
        recs = doc["data"] if url.endswith("/dataarray") else [doc]
        for r in recs:
            r = dict(r)
            r.pop("writeKey", None)
            self.records.append(r)
        self.clock.advance(300)  # a round trip
        return 200


class Network:
    def __init__(self, down):
        self.down = down
        self.connects = 0

    def is_connected(self):
        return not self.down()

    def connect(self):
        self.connects += 1


def make_cfg():
    return config.load(
        json.dumps(
            {
                "id": RBID,
                "password": PWD,
                "contract_amperage": "40",
                "collect_date": "22",
                "charge_func": "tepco_b",
                "wifi": {"ssid": "home", "password": WIFI_PWD},
                "ambient": {"channel_id": "7", "write_key": WKEY, "url": "http://amb.test", "interval": 30},
            }
        )
    )


def waiting(a):
    """Records in the app's Ambient backlog."""
    return len(a.amb.backlog) if a.amb is not None else 0


def schedule(world):
    """(at ms, name, action, outage ms or 0): the injected faults in time order."""
    f = world.faults
    m = world.module

    def drops():
        f.drop_every = 3
        f.drop_window = (1 * H, 2 * H)

    def noise():
        f.garbage_prob = 0.05
        f.split_prob = 0.2
        f.io_window = (5 * H, 7 * H)

    def join_fail():
        f.join_failures = 1
        m.peer_terminate()

    seen = world.silence_seen = {}  # pyright: ignore[reportAttributeAccessIssue]

    def silent():
        seen["joins"] = m.stats["joins"]
        m.silence(10 * MIN)

    def after():
        seen["joins_during"] = m.stats["joins"] - seen["joins"]

    return [
        (30 * MIN, "meter silent (10 min), the module keeps its session", silent, 11 * MIN),
        (42 * MIN, "after the silence: no join meanwhile", after, 0),
        (1 * H, "drop 1 in 3 answers (1 h)", drops, 0),
        (3 * H, "EVENT 29 + re-authentication", m.expire_session, 2 * MIN),
        (4 * H, "session ended + EVENT 24 join failure", join_fail, 5 * MIN),
        (5 * H, "garbage + split lines (2 h)", noise, 0),
        (8 * H, "EVENT 32 transmit limit (10 min)", lambda: m.tx_limit(10 * MIN), 12 * MIN),
        (10 * H, "Wi-Fi down (1 h)", None, 0),
        (10 * H + 30 * MIN, "reboot (new App + Session) while Wi-Fi is down", "reboot", 3 * MIN),
    ]


def soak(hours=24.0, seed=1, tmp=None):
    """Run the day; returns a dict of outcomes."""
    lines = []
    log.set_sink(lines.append)
    log.set_level(log.INFO)
    world = harness.World(start=START, seed=seed)
    clk = world.clock
    end = int(hours * H)
    wifi_down = (10 * H, 11 * H)

    def offline():
        return wifi_down[0] <= clk.now_ms < wifi_down[1]

    amb = FakeAmbient(clk, lambda: not offline(), seed)
    net = Network(offline)
    feeds = [0]
    wdt = {"late": 0, "longest": 0}

    def feed():
        d = clk.now_ms - feeds[0]
        if d > wdt["longest"]:
            wdt["longest"] = d
        if d > WDT_MS:
            wdt["late"] += 1
        feeds[0] = clk.now_ms

    made = []
    tmpdir = tmp or tempfile.mkdtemp(prefix="soak")
    cfg = make_cfg()

    def new_app():
        a = app_mod.App(
            cfg,
            world.module.uart,
            clk.ticks_ms,
            clk.wall,
            network=net,
            http_post=amb,
            feed=feed,
            state_path=os.path.join(tmpdir, "state.json"),
            backlog_path=os.path.join(tmpdir, "backlog"),
        )
        orig = a.make_record

        def spy(now):
            rec = orig(now)
            if rec is not None:
                made.append(rec["created"])
            return rec

        a.make_record = spy
        if hasattr(a, "_make_record"):
            a._make_record = spy  # the bound method App.step uses
        return a

    a = new_app()
    events = schedule(world)
    outages = [(at, at + out, name) for at, name, _, out in events if out]
    crashes = []
    readings = [None, 0]  # last reading t, arrival ms
    gaps = []  # (from ms, to ms)
    hourly = []
    apps = [a]
    counters = {"rejoins": 0, "rescans": 0, "timeouts": 0, "retries": 0}
    next_hour = H
    paused = [False]
    at_reboot = [0, 0]  # backlog records before the reboot, and loaded by the new App
    spins = 0
    while clk.now_ms < end:
        while events and clk.now_ms >= events[0][0]:
            _, name, action, _ = events.pop(0)
            log.info("SOAK %s", name)
            if action == "reboot":
                for k in counters:
                    counters[k] += a.session.counters.get(k, 0)
                at_reboot[0] = waiting(a)
                a = new_app()  # abrupt: no close(), flash files as they are
                at_reboot[1] = waiting(a)
                apps.append(a)
                readings[0] = None
            elif action is not None:
                action()
        world.module.update()
        try:
            ms = a.step()
        except Exception as e:  # noqa: BLE001 - the number we report
            crashes.append("%r" % e)
            ms = 100
        if a.session.state == "paused":
            paused[0] = True
        r = a.session.reading
        if r is not None and r.t != readings[0]:
            if readings[0] is not None or readings[1]:
                gaps.append((readings[1], clk.now_ms))
            readings[0] = r.t
            readings[1] = clk.now_ms
        if clk.now_ms >= next_hour:
            hourly.append(sum(world.module.esv_counts.values()))
            next_hour += H
        target = clk.now_ms + ms
        nxt = world.module.next_event_ms()
        if nxt is not None and nxt < target:
            target = nxt
        if events and events[0][0] < target:
            target = events[0][0]
        target = min(target, end)
        if target <= clk.now_ms:
            spins += 1
            if spins < 50:
                continue
            target = clk.now_ms + 1
        spins = 0
        clk.advance_to(target)
    gaps.append((readings[1], clk.now_ms))
    if clk.now_ms - feeds[0] > WDT_MS:  # starving at the end: the watchdog would have fired
        wdt["late"] += 1
        wdt["longest"] = max(wdt["longest"], clk.now_ms - feeds[0])
    for k in counters:
        counters[k] += a.session.counters.get(k, 0)
    # the backlog drains after the day: give it time (no new faults), records made meanwhile count too
    drain_end = clk.now_ms + 30 * MIN
    while clk.now_ms < drain_end and (waiting(a) or clk.now_ms < end + 60000):
        world.module.update()
        try:
            ms = a.step()
        except Exception as e:  # noqa: BLE001
            crashes.append("%r" % e)
            ms = 100
        clk.advance_to(min(clk.now_ms + max(ms, 1), drain_end))
    out = report(world, amb, made, gaps, outages, crashes, wdt, hourly, counters, lines, a, end)
    out["joins_during_silence"] = world.silence_seen.get("joins_during", -1)  # pyright: ignore[reportAttributeAccessIssue]
    out["ok"] = out["ok"] and out["joins_during_silence"] == 0
    out["wifi_drops"] = sum(x.wifi_drops for x in apps)
    out["paused_seen"] = paused[0]
    out["backlog_at_reboot"] = at_reboot[0]
    out["backlog_after_reboot"] = at_reboot[1]
    return out


def _excused(a, b, outages):
    return any(a < e and b > s for s, e, _ in outages)


def report(world, amb, made, gaps, outages, crashes, wdt, hourly, counters, lines, a, end):
    long_gaps = [(s, e) for s, e in gaps if e - s > GAP_MS]
    bad_gaps = [(s, e) for s, e in long_gaps if not _excused(s, e, outages)]
    got = [r["created"] for r in amb.records]
    made_set = set(made)
    got_set = set(got)
    lost = sorted(made_set - got_set)
    extra = sorted(got_set - made_set)
    dupes = len(got) - len(got_set)
    made_dupes = len(made) - len(made_set)
    # records per 30 s slot of created time (wall ms), outages excused
    t0 = world.meter.start_unix * 1000
    slots = {}
    for c in got:
        k = (c - t0) // SLOT_MS
        slots[k] = slots.get(k, 0) + 1
    empty = 0
    first = (min(got) - t0) // SLOT_MS if got else 0
    for k in range(first, (end - 1) // SLOT_MS):
        s = k * SLOT_MS
        if k not in slots and not _excused(s - GAP_MS, s + SLOT_MS + GAP_MS, outages):
            empty += 1
    crowded = sum(1 for n in slots.values() if n > 2)
    per_hour = [b - x for x, b in zip([0] + hourly, hourly, strict=False)]
    stats = world.module.stats
    sec = [RBID, PWD, WKEY, WIFI_PWD, RBID[-8:]]
    leaks = [ln for ln in lines if any(s in ln for s in sec)]
    out = {
        "crashes": len(crashes),
        "crash_texts": crashes[:5],
        "long_gaps": len(long_gaps),
        "gaps_outside_outages": len(bad_gaps),
        "longest_gap_s": max((e - s for s, e in gaps), default=0) / 1000,
        "longest_gap_outside_s": max((e - s for s, e in gaps if not _excused(s, e, outages)), default=0)
        / 1000,
        "records_made": len(made),
        "records_received": len(got),
        "records_lost": len(lost),
        "records_unexpected": len(extra),
        "records_twice": dupes,
        "records_same_created": made_dupes,
        "empty_slots_outside_outages": empty,
        "slots_over_2": crowded,
        "backlog_left": waiting(a),
        "ambient_posts": amb.posts,
        "ambient_500": amb.errors[500],
        "ambient_timeouts": amb.errors["timeout"],
        "ambient_offline": amb.errors["offline"],
        "ambient_bad_key": amb.bad_key,
        "requests_per_hour_min": min(per_hour) if per_hour else 0,
        "requests_per_hour_max": max(per_hour) if per_hour else 0,
        "requests_per_hour_mean": round(sum(per_hour) / len(per_hour)) if per_hour else 0,
        "wdt_late_feeds": wdt["late"],
        "wdt_longest_s": wdt["longest"] / 1000,
        "rejoins": counters["rejoins"],
        "rescans": counters["rescans"],
        "session_timeouts": counters["timeouts"],
        "session_retries": counters["retries"],
        "joins": stats["joins"],
        "join_failures": stats["join_failures"],
        "reauths": stats["reauths"],
        "answers_dropped": stats["dropped"],
        "garbage_lines": stats["garbage"],
        "split_lines": stats["splits"],
        "log_lines": len(lines),
        "log_errors": sum(1 for ln in lines if ln.startswith("ERROR")),
        "credential_leaks": len(leaks),
    }
    out["ok"] = (
        out["crashes"] == 0
        and out["gaps_outside_outages"] == 0
        and out["records_lost"] == 0
        and out["records_unexpected"] == 0
        and out["records_twice"] == 0
        and out["records_same_created"] == 0
        and out["empty_slots_outside_outages"] == 0
        and out["backlog_left"] == 0
        and out["wdt_late_feeds"] == 0
        and out["credential_leaks"] == 0
        and out["ambient_bad_key"] == 0
        and out["records_made"] > 0
    )
    return out


ROWS = (
    ("crashes (exceptions escaping App.step)", "crashes", "0"),
    ("refresh gaps > 60 s (all / outside injected outages)", ("long_gaps", "gaps_outside_outages"), "- / 0"),
    ("longest refresh gap outside outages (s)", "longest_gap_outside_s", "<= 60"),
    ("Ambient records made / received", ("records_made", "records_received"), "equal"),
    (
        "records lost / unexpected / received twice",
        ("records_lost", "records_unexpected", "records_twice"),
        "0",
    ),
    ("30 s slots without a record outside outages", "empty_slots_outside_outages", "0"),
    ("backlog left after draining", "backlog_left", "0"),
    (
        "backlog records before / after the reboot",
        ("backlog_at_reboot", "backlog_after_reboot"),
        "equal, > 0",
    ),
    (
        "Ambient posts / 500 / timeouts / while offline",
        ("ambient_posts", "ambient_500", "ambient_timeouts", "ambient_offline"),
        "-",
    ),
    (
        "radio requests per hour (min / mean / max)",
        ("requests_per_hour_min", "requests_per_hour_mean", "requests_per_hour_max"),
        "-",
    ),
    ("watchdog: feed intervals > 60 s", "wdt_late_feeds", "0"),
    ("longest interval between watchdog feeds (s)", "wdt_longest_s", "< 60"),
    ("rejoins / rescans (session counters)", ("rejoins", "rescans"), "-"),
    ("joins while the meter was silent for 10 min", "joins_during_silence", "0"),
    ("Wi-Fi drops seen by the app", "wifi_drops", "-"),
    ("joins / join failures / re-authentications (module)", ("joins", "join_failures", "reauths"), "-"),
    (
        "answers dropped / garbage lines / split lines",
        ("answers_dropped", "garbage_lines", "split_lines"),
        "-",
    ),
    (
        "log lines / ERROR lines / lines with a credential",
        ("log_lines", "log_errors", "credential_leaks"),
        "- / - / 0",
    ),
)


def table(out):
    rows = ["| outcome | measured | target |", "|---|---|---|"]
    for label, keys, target in ROWS:
        if isinstance(keys, str):
            keys = (keys,)
        rows.append("| %s | %s | %s |" % (label, " / ".join(str(out[k]) for k in keys), target))
    rows.append("| **result** | **%s** | |" % ("ok" if out["ok"] else "FAILED"))
    return "\n".join(rows)


def main(argv):
    hours = 24.0
    seed = 1
    as_json = "--json" in argv
    if "--hours" in argv:
        hours = float(argv[argv.index("--hours") + 1])
    if "--seed" in argv:
        seed = int(argv[argv.index("--seed") + 1])
    out = soak(hours, seed)
    log.set_sink(print)
    if as_json:
        print(json.dumps(out, sort_keys=True))
    else:
        print("Simulated %g h, seed %d" % (hours, seed))
        print(table(out))
        if out["crash_texts"]:
            print("crashes:", out["crash_texts"])
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
