"""The device day's figures, budgets, Markdown report and BENCH line."""

from device_day import build

LIVE_BUDGET = 72 * 1024  # B: steady live heap after gc.collect(), device modules included
CYCLE_BUDGET = 4 * 1024  # B allocated per refresh cycle: less than this
STARTUP_MS = 600000  # samples and cycles this soon after a boot are start-up, not steady state
SPAN_MS = 30000  # readings further apart: an outage or a rejoin, not a refresh cycle
H = 3600 * 1000


def app_modules():
    """Module names of the app as deployed (session, session.join, ui.draw, device, ...)."""
    import deploy

    out = set()
    for _, mod in deploy.modules():
        name = mod.replace("/", ".")
        out.add(name[: -len(".__init__")] if name.endswith(".__init__") else name)
    return out


def _pct(xs, p):
    return xs[min(len(xs) - 1, len(xs) * p // 100)] if xs else None


def results(day):
    """The day's figures (B unless named otherwise) as a dict (JSON-able)."""
    from device_day import world

    boots = day.boots
    lines = [ln for b in boots for ln in b["output"].lines]
    seen = {}
    for s in day.samples:  # the qstr count each sample printed, in order per boot
        k = seen[s["boot"]] = seen.get(s["boot"], 0) + 1
        q = boots[s["boot"]]["output"].qstrs.get("sample%d" % k)
        s["qstrs"] = q[0] if q else None
        s["app"] = day.app_heap(s["live"], q[0]) if q else s["live"] - day.harness_net
    steady = [s for s in day.samples if s["uptime"] >= STARTUP_MS]
    live = [s["app"] for s in steady]
    # refresh cycles: not within STARTUP_MS of a boot, not after a gap of SPAN_MS (an outage), no
    # scan, join or re-authentication of the module in them (those load the session's rare code)
    refresh, startup, spans, rejoins = [], [], [], []
    prev = {}
    for t, b, r, boot, posts, link in day.cycles:
        gap = t - prev.get(boot, boots[boot]["t"])
        prev[boot] = t
        c = {"t": t, "B": abs(b), "requested": r, "estimated": b < 0, "posts": posts, "boot": boot}
        if t - boots[boot]["t"] < STARTUP_MS:
            startup.append(c)
        elif gap > SPAN_MS:
            spans.append(c)
        elif link:
            rejoins.append(c)
        else:
            refresh.append(c)
    sizes = sorted(c["B"] for c in refresh)
    over = [c for c in refresh if c["B"] >= CYCLE_BUDGET]
    faults = day.world.faults

    def active(t):
        return [k for at, end, k, _ in faults if at <= t < (end if end is not None else at + 10 * 60000)]

    top = sorted(refresh, key=lambda c: -c["B"])[:8]
    for c in top:
        c["faults"] = active(c["t"])
    amb = day.ambient
    made = set(day.made)
    got = set(amb.received)
    mods = app_modules()
    resident = sorted(m for m in (boots[-1]["output"].modules if boots else []) if m in mods)
    lis = day.listener
    return {
        "features": world.features(day.config) if day.config else "no config written",
        "mqtt": bool(day.config and day.config.get("mqtt")),
        "mqtt_states": lis.states if lis else None,
        "mqtt_configs": len(lis.configs) if lis else None,
        "mqtt_config_msgs": lis.config_msgs if lis else None,
        "mqtt_status": dict(lis.status) if lis else {},
        "mqtt_bad": [repr(b) for b in lis.bad[:3]] if lis else [],
        "hours": day.hours,
        "seconds": round(day.seconds, 1),
        "heap_cap": build.HEAP,
        "vm_heap": day.vm_heap,
        "strict": day.strict,
        "harness": day.harness,
        "harness_net": day.harness_net,
        "harness_pools": day.harness_pools,
        "harness_q": day.harness_q,
        "harness_per_boot": [b["reports"].get("harness", 0) - day.empty_vm for b in boots],
        "extra_pools": max((s["live"] - day.harness_net - s["app"] for s in day.samples), default=0),
        "empty_vm": day.empty_vm,
        "snapshots": _snapshot_heaps(day),
        "samples": day.samples,
        "steady_samples": len(steady),
        "live_app_max": max(live) if live else None,
        "live_app_min": min(live) if live else None,
        "memory_errors": sum(1 for ln in lines if "MemoryError" in ln),
        "frag_fail": sum(1 for s in day.samples if not s["frag_ok"]),
        "cycles": len(refresh),
        "cycle_max": sizes[-1] if sizes else None,
        "cycle_median": _pct(sizes, 50),
        "cycle_p90": _pct(sizes, 90),
        "cycle_p99": _pct(sizes, 99),
        "cycle_requested_max": max((c["requested"] for c in refresh), default=None),
        "cycles_over": len(over),
        "cycles_over_with_post": sum(1 for c in over if c["posts"]),
        "cycles_estimated": sum(1 for c in refresh if c["estimated"]),
        "cycle_top": top,
        "startup_max": max((c["B"] for c in startup), default=None),
        "span_max": max((c["B"] for c in spans), default=None),
        "spans": len(spans),
        "rejoin_max": max((c["B"] for c in rejoins), default=None),
        "rejoins": len(rejoins),
        "wdt_gap": max((s["wdt_gap"] for s in day.samples), default=None),
        "made": len(day.made),
        "made_twice": len(day.made) - len(made),
        "received": len(got),
        "received_twice": amb.twice,
        "lost": len(made - got),
        "unexpected": len(got - made),
        "mismatches": len(amb.mismatches),
        "mismatch_text": amb.mismatches[:3],
        "posts": amb.posts,
        "answers": {str(k): v for k, v in amb.answers.items()},
        "post_timeouts": day.post_timeouts,
        "readings": day.world.readings,
        "readings_lost_uart": day.world.readings_lost,
        "uart_lost_bytes": day.world.lost_bytes,
        "faults": day.world.applied,
        "resets": day.resets,
        "crashes": day.crashes,
        "boots": [
            {
                "cause": b["cause"],
                "t": b["t"],
                "reports": b["reports"],
                "qstrs": b["output"].qstrs,
                "exit": b.get("exit"),
            }
            for b in boots
        ],
        "spy": bool(boots)
        and all(b["reports"].get("spy") for b in boots if day.made or b["reports"].get("app")),
        "stopped": day.stopped,
        "modules": resident,
        "log_lines": len(lines),
        "errors": [ln for ln in lines if ln.startswith(("ERROR", "Traceback")) or "Error" in ln][:10],
        "leaks": sum(1 for ln in lines if any(s in ln for s in world.secrets(day.world.harness))),
    }


def _snapshot_heaps(day):
    """The app's live heap at the first boot's snapshots (i2c, uart, wdt, app)."""
    if not day.boots:
        return {}
    b = day.boots[0]
    q = b["output"].qstrs
    return {k: day.app_heap(v, q[k][0]) for k, v in b["reports"].items() if k in q and k != "harness"}


def problems(r):
    """Budget misses and signs that the day did not work: [] when all is well."""
    out = []
    live = r["live_app_max"]
    if live is None:
        out.append("no live-heap sample 10 min or more after a boot")
    elif live > LIVE_BUDGET:
        out.append("live heap %d B > %d B" % (live, LIVE_BUDGET))
    if r["memory_errors"]:
        out.append("%d MemoryError lines in the VM's output" % r["memory_errors"])
    if r["frag_fail"]:
        out.append("a fresh 8 KB bytearray failed at %d samples" % r["frag_fail"])
    if not r["cycles"]:
        out.append("no refresh cycle measured")
    elif r["cycle_max"] >= CYCLE_BUDGET:
        out.append(
            "%d refresh cycles allocated 4 KB or more (up to %d B)" % (r["cycles_over"], r["cycle_max"])
        )
    if r["lost"]:
        out.append("%d records made and never received" % r["lost"])
    if not r["made"] or not r["received"]:
        out.append("no Ambient record made or received")
    if not r["spy"]:
        out.append("the make_record spy was missing from a boot (the record check is blind)")
    if r["unexpected"]:
        out.append("%d records received that the app did not make" % r["unexpected"])
    if r["mismatches"]:
        out.append("%d records off the meter: %s" % (r["mismatches"], "; ".join(r["mismatch_text"])))
    if r["crashes"]:
        out.append("the VM died %d times: %s" % (r["crashes"], " | ".join(r["errors"][:3])))
    if not r["stopped"]:
        out.append("the day did not reach its end")
    if r["leaks"]:
        out.append("%d log lines show a credential" % r["leaks"])
    if r.get("mqtt"):
        if not r["mqtt_states"]:
            out.append("MQTT configured but no state message arrived at the broker")
        if not r["mqtt_configs"]:
            out.append("MQTT configured but no discovery config arrived at the broker")
        if r["mqtt_bad"]:
            out.append("state messages that are not the app's JSON: %s" % ", ".join(r["mqtt_bad"]))
    return out


def bench_line(r):
    """The one machine-readable line (NA for what was not measured; r None: nothing ran)."""

    def v(k):
        return "NA" if r is None or r[k] is None else str(r[k])

    return "BENCH heap_cap_B=%d live_heap_B=%s memory_errors=%s frag_8k_fail=%s" % (
        build.HEAP,
        v("live_app_max"),
        v("memory_errors"),
        v("frag_fail"),
    ) + " max_cycle_alloc_B=%s records_lost=%s" % (v("cycle_max"), v("lost"))


def _enabled(r):
    """The one line on what the config enabled and what the broker got."""
    got = ""
    if r.get("mqtt"):
        got = "; the broker got %s state messages and %s discovery configs"
        got %= (r["mqtt_states"], r["mqtt_configs"])
    return "Enabled: %s%s." % (r["features"], got)


def _mqtt(r):
    if not r.get("mqtt"):
        return "not configured"
    st = r["mqtt_status"]
    return "%s / %s (%s messages) / %d, %d" % (
        r["mqtt_states"],
        r["mqtt_configs"],
        r["mqtt_config_msgs"],
        st.get("online", 0),
        st.get("offline", 0),
    )


def _mqtt_ok(r):
    return bool(r["mqtt_states"] and r["mqtt_configs"] and not r["mqtt_bad"])


def _b(v):
    return "n/a" if v is None else "{:,} B".format(v)


def _ok(good):
    return "met" if good else "**missed**"


def report(r):
    live = r["live_app_max"]
    out = [
        "## The whole app in the M5StickC's heap: %g simulated hours (tools/device_day)" % r["hours"],
        "",
        "| figure | measured | budget |",
        "|---|---:|---|",
        "| live heap after gc.collect(), max of the %d samples 10 min or more after a boot | %s | <= %s: %s |"
        % (r["steady_samples"], _b(live), _b(LIVE_BUDGET), _ok(live is not None and live <= LIVE_BUDGET)),
        "| live heap, min of the same samples | %s | |" % _b(r["live_app_min"]),
        "| MemoryError lines in the VM's output | %d | 0: %s |"
        % (r["memory_errors"], _ok(not r["memory_errors"])),
        "| samples where a fresh 8 KB bytearray failed | %d of %d | 0: %s |"
        % (r["frag_fail"], len(r["samples"]), _ok(not r["frag_fail"])),
        "| heap bytes allocated per refresh cycle: max of %d cycles | %s | < 4,096 B: %s |"
        % (r["cycles"], _b(r["cycle_max"]), _ok(r["cycles"] and r["cycle_max"] < CYCLE_BUDGET)),
        "| same: median / 90th / 99th percentile | %s / %s / %s | |"
        % (_b(r["cycle_median"]), _b(r["cycle_p90"]), _b(r["cycle_p99"])),
        "| refresh cycles of 4 KB or more (of them with an Ambient request) | %d (%d) | 0 |"
        % (r["cycles_over"], r["cycles_over_with_post"]),
        "| Ambient records made / received / lost | %d / %d / %d | lost 0: %s |"
        % (r["made"], r["received"], r["lost"], _ok(not r["lost"])),
        "| records off the simulated meter / received twice | %d / %d | 0 |"
        % (r["mismatches"], r["received_twice"]),
        "| heap bytes in a cycle of the first 10 min after a boot, max | %s | |" % _b(r["startup_max"]),
        "| heap bytes between readings over 30 s apart (outages), max of %d | %s | |"
        % (r["spans"], _b(r["span_max"])),
        "| heap bytes in a cycle in which the module scanned, joined or re-authenticated, max of %d | %s | |"
        % (r["rejoins"], _b(r["rejoin_max"])),
        "| bytes requested per refresh cycle, not freed at once (micropython.mem_current), max | %s | |"
        % _b(r["cycle_requested_max"]),
        "| refresh cycles counted from requested bytes (the collector ran on its own) | %d | |"
        % r["cycles_estimated"],
        "| Ambient requests: 200 / 500 / timed out | %s / %s / %s | |"
        % (r["answers"]["200"], r["answers"]["500"], r["answers"]["timeout"]),
        "| meter readings delivered / UART bytes lost (2,048 B receive buffer) | %d / %d | |"
        % (r["readings"], r["uart_lost_bytes"]),
        "| longest gap between watchdog feeds | %s | < 60 s |"
        % ("n/a" if r["wdt_gap"] is None else "%.1f s" % (r["wdt_gap"] / 1000)),
        "| resets (the planned one included) / VM crashes | %d / %d | |" % (len(r["resets"]), r["crashes"]),
        "| MQTT at the broker: state messages / discovery configs (messages) / status online, offline |"
        " %s | states > 0, configs > 0%s |" % (_mqtt(r), ": " + _ok(_mqtt_ok(r)) if r.get("mqtt") else ""),
        "| real time of the run | %.0f s | |" % r["seconds"],
        "",
    ]
    if r["strict"]:
        out.append(
            "VM heap %s (--strict-heap): the harness's %s inside the device's %s,"
            " so the app had that much less." % (_b(r["vm_heap"]), _b(r["harness"]), _b(build.HEAP))
        )
    else:
        out.append(
            "VM heap %s = the device's %s for the app + %s for the harness: the stand-ins for the ESP32's"
            " C modules and the link hold %s (a calibration boot measures it), less the %s of qstr pools"
            " that its %d names fill and the app's own names fill on the device. That much is taken out"
            " of every live-heap figure, and so is any pool the harness's names add beyond the device's"
            " (%s in this run)."
            % (
                _b(r["vm_heap"]),
                _b(build.HEAP),
                _b(r["harness_net"]),
                _b(r["harness"]),
                _b(r["harness_pools"]),
                r["harness_q"],
                _b(r["extra_pools"]),
            )
        )
    out += [
        "An empty VM holds %s (kept in: the device has its own start-up state)." % _b(r["empty_vm"]),
        "",
        _enabled(r),
        "",
        "Live heap at each sample (h:B; * within 10 min of a boot, ! the 8 KB bytearray failed): "
        + " ".join(
            "%.1f:%d%s%s"
            % (
                s["t"] / H,
                s["app"],
                "" if s["uptime"] >= STARTUP_MS else "*",
                "" if s["frag_ok"] else "!",
            )
            for s in r["samples"]
        ),
    ]
    if r["cycle_top"]:
        out += [
            "",
            "The largest refresh cycles (h, heap B, Ambient answers in the cycle, faults active):",
            "",
        ]
        for c in r["cycle_top"]:
            out.append(
                "- %.3f h: %s%s; %s; %s"
                % (
                    c["t"] / H,
                    _b(c["B"]),
                    " (estimated)" if c["estimated"] else "",
                    ", ".join(c["posts"]) or "no request",
                    ", ".join(c["faults"]) or "no fault",
                )
            )
    if r["boots"]:
        out += _snapshots(r)
    if r.get("anatomy"):
        from device_day import anatomy

        out += ["", anatomy.table(r["anatomy"], r)]
    out += [
        "",
        "Faults (h): " + ", ".join("%.2f %s" % (at / H, k) for at, k in r["faults"]),
        "Resets (h): " + (", ".join("%.2f %s" % (t / H, c) for t, c in r["resets"]) or "none"),
    ]
    if r["extra_pools"]:
        out += [
            "",
            "Note: the harness's names pushed the qstr pools past a boundary the device's would not reach:"
            " the app had %s less room than on the device here (taken out of the live heap; MemoryErrors and"
            " failed 8 KB checks may be the harness's)." % _b(r["extra_pools"]),
        ]
    if r["errors"]:
        out += ["", "Error lines in the VM's output (the first %d):" % len(r["errors"]), ""]
        out += ["    " + e for e in r["errors"]]
    bad = problems(r)
    out += [
        "",
        "Verdict: " + ("every budget met." if not bad else "MISSED: " + "; ".join(bad) + "."),
        "",
        bench_line(r),
    ]
    return "\n".join(out)


def _snapshots(r):
    b = r["boots"][0]
    rep, q = b["reports"], b["qstrs"]
    points = (
        ("harness", "the harness alone (not counted; its qstrs are in the pools below)"),
        ("i2c", "board set-up begins (board, st77xx, buttons, axp192 loaded)"),
        ("uart", "panel built, config read and dropped, wifi and netclock loaded"),
        ("wdt", "app.loop and what it imports loaded"),
        ("app", "the App built, before the first step"),
    )
    out = [
        "",
        "First boot, after gc.collect() at each point (the app's share, as for the samples):",
        "",
        "| point | live heap | qstrs: count / string bytes / pool bytes |",
        "|---|---:|---:|",
    ]
    for key, what in points:
        if key in rep:
            qs = q.get(key)
            if key == "harness":
                out.append("| %s | | %d / %s / %s |" % (what, qs[0], _b(qs[1]), _b(qs[2])) if qs else "")
                continue
            out.append(
                "| %s | %s | %s |"
                % (
                    what,
                    _b(r["snapshots"].get(key)),
                    "%d / %s / %s" % (qs[0], _b(qs[1]), _b(qs[2])) if qs else "",
                )
            )
    last = [k for k in q if k.startswith("sample")]
    if last:
        qs = q[last[-1]]
        out.append("| the last sample of that boot | | %d / %s / %s |" % (qs[0], _b(qs[1]), _b(qs[2])))
    return out
