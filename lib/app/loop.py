"""The app loop, hardware handed in: the same code runs on the device, in host mode and in tests.

App(cfg, uart, clock, wall, ...) builds the B-route Session and, on each
step(), interleaves: buttons, Wi-Fi (re)connect, clock sync, the session,
Ambient with store-and-forward, the screen and the watchdog. Nothing blocks
except the http_post/sync_time/connect callables handed in (bounded by their
own timeouts). step() returns how long (ms) the caller may sleep.

Hardware contract (all optional except uart, clock, wall):
  fb, show()           FrameBuffer-like object drawn by screens.draw; show() pushes it
  set_flip(bool)       rotate the panel 180 degrees; set_brightness(percent 0..100)
  buttons()            -> None | "a" | "b" (or "A" | "B"): one debounced press per call;
                       anything else (e.g. "a_long") is ignored
  network              .is_connected() -> bool; .connect() starts a (re)connect, returns at once
  sync_time()          -> bool: set the wall clock (NTP); called until it works, then daily
  http_post(url, body_bytes, timeout_s) -> HTTP status (int); raises OSError on no answer
  feed()               feed the hardware watchdog; called only while the loop makes progress
  mem_free()           -> free heap bytes, for the diagnostics screen
  session              a ready-made Session (tests); built from cfg when None
  mqtt                 a lib/mqtt Publisher (cfg has mqtt): polled after the screen, one bounded
                       network operation per step at most
  history_path         the 30-minute history cache on flash (lib/billing/usage.py): the yen as the
                       bill computes it and the forecast (bill); None: no history, the period's
                       kWh priced in the band of the half hour in progress
Ambient: lib/ambient/forwarder.py (one record per ambient.interval s, a flash backlog).
Network calls (NTP, an Ambient request, MQTT) that can block: at most one a step; the
others wait for the next step (issue 11: the longest stretch without a watchdog feed).
"""

import lazy
import log
import store
from ambient import record
from ambient.forwarder import Forwarder
from ticks import ticks_add, ticks_diff

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_SCREENS = const(("main", "today", "diagnostics"))  # button B's round
_WIFI_RETRY_MS = const(15000)  # first Wi-Fi retry; doubles up to _WIFI_RETRY_MAX_MS
_WIFI_RETRY_MAX_MS = const(120000)
_SYNC_RETRY_MS = const(10000)  # first NTP retry; doubles up to _SYNC_RETRY_MAX_MS
_SYNC_RETRY_MAX_MS = const(300000)
_RESYNC_MS = const(86400000)  # NTP again once a day
_STALE_MS = const(60000)  # a reading older than this is stale (screen and Ambient)
STALL_MS = const(900000)  # no progress for 15 min: stop feeding the watchdog
_FAILED_RETRY_MS = const(600000)  # a session that gave up is rebuilt after 10 min
_WAKE_MS = const(30000)  # a button press lights a night-dimmed screen this long
_BUTTON_POLL_MS = const(50)
_CFG_KEYS = const(("id", "password", "module", "refresh_interval", "collect_date", "utc_offset_s", "display"))


class App:
    def __init__(
        self,
        cfg,
        uart,
        clock,
        wall,
        fb=None,
        show=None,
        buttons=None,
        network=None,
        http_post=None,
        state_path="smartmeter.state.json",
        backlog_path="ambient.backlog",
        set_brightness=None,
        set_flip=None,
        feed=None,
        sync_time=None,
        mem_free=None,
        session=None,
        batch=24,
        mqtt=None,
        history_path=None,
    ):
        # only what the App reads later: the rest of the config (Wi-Fi, Ambient, MQTT sections,
        # warnings) is not kept alive by it
        self.cfg = {k: cfg[k] for k in _CFG_KEYS if k in cfg}
        self.uart = uart
        self.clock = clock
        self.wall = wall
        self.fb = fb
        self._show = show
        self._buttons = buttons
        self.network = network
        self.set_brightness = set_brightness
        self.set_flip = set_flip
        self.feed = feed
        self.sync_time = sync_time
        self.mem_free = mem_free  # for the diagnostics screen
        self.store = store.Store(state_path)
        t = lazy.call("billing.tariff", "load", cfg.get("charge_func"), cfg.get("tariff"))
        self.tariff = t.save()  # plain data: the pricing code is loaded only by lib/app/bill.py
        self.plugin = t.func  # a plug-in tariff's charge(A, kWh): called on every new kWh
        t = None
        self.amperage = cfg["contract_amperage"]
        self._own_session = session is None
        self.session = session if session is not None else self._new_session()
        now = clock()
        self._last_tick = now
        self.uptime_s = 0
        self._uptime_ms = 0
        # session tracking
        self._reading_t = None
        self._state = None
        self._status = None
        self._progress_t = now
        self._failed_t = None
        self.poll_errors = 0
        self._err_streak = 0
        self._err_log_t = now
        self.last_error = None
        self._charge_kwh = None
        self.charge_yen = None
        self.bill = None  # (yen, flags, forecast Wh, forecast yen) of the period, or None
        # [history_path, lib/app/bill.py's prices or None, the half hour (x 64) and the session's
        # history_seq (% 64) they were made for]; one list: the App's attribute map stays within
        # its allocation
        self._hist = [history_path, None, 0]
        self._reading_log_t = None
        self._recorded_t = None  # ticks (ms) of the reading in the last Ambient record
        # screen
        self.screen = "main"
        self.flip = bool(self.store.get("flip", False))
        self._dirty = True
        self._draw_t = now
        self.draws = 0
        self.draw_errors = 0
        self._brightness = None
        self._night = False
        self._night_t = None
        self._wake_t = None
        # network and time
        self.wifi_up = network is None
        self._wifi_t = now
        self._wifi_backoff = _WIFI_RETRY_MS
        self.wifi_drops = 0
        self._sync_t = now
        self._sync_backoff = _SYNC_RETRY_MS
        self.time_synced = False
        # Ambient
        amb = cfg.get("ambient")
        self.amb = None
        if amb and http_post is not None:
            self.amb = Forwarder(amb, http_post, wall, self.store, backlog_path, now, batch)
        if set_flip is not None:
            set_flip(self.flip)
        self.view = None
        self._make_record = self.make_record  # bound once: a bound method per step() is 16 B of garbage
        self.mqtt = mqtt
        self._figures = self.figures

    def _new_session(self):
        import session as _session

        c = self.cfg
        return _session.Session(
            self.uart,
            self.clock,
            self.store,
            c["id"],
            c["password"],
            dialect=c["module"],
            refresh_s=c["refresh_interval"],
            reading_day=c["collect_date"],
            wall=self.wall,
        )

    # --- the loop ---------------------------------------------------------------------
    def step(self):
        """One pass over every task; returns the ms the caller may sleep (0..1000)."""
        now = self.clock()
        d = ticks_diff(now, self._last_tick)
        self._last_tick = now
        if d > 0:
            self._uptime_ms += d
            if self._uptime_ms >= 1000:
                self.uptime_s += self._uptime_ms // 1000
                self._uptime_ms %= 1000
        if self._buttons is not None:
            self._poll_buttons(now, self._buttons)
        if self.network is not None:
            self._poll_network(now, self.network)
        net = True  # the step's one network call: NTP, then Ambient, then MQTT; a later one waits
        if self.sync_time is not None:
            net = not self._poll_time(now, self.sync_time)
        self._poll_session(now)
        mqtt = self.mqtt
        amb = self.amb
        if amb is not None and net:
            try:
                net = not amb.poll(now, self.wifi_up, self._make_record)
            except Exception as e:  # a bug here must not stop the readings
                net = False
                self._error("ambient", e)
        self._poll_display(now)
        if mqtt is not None and net:  # after Ambient and the screen: a slow broker delays neither
            try:
                mqtt.poll(now, self.wifi_up, self.session.reading, self._figures)
            except Exception as e:
                self._error("mqtt", e)
        if self.feed is not None and self.healthy(now):
            self.feed()
        return self._wait_ms(now)

    def close(self, deadline_ms=3000, idle=None):
        """End the session politely (SKTERM) and write what is pending to flash.

        idle(ms) is handed to Session.close (tests: the virtual clock's advance).
        """
        try:
            if idle is None:
                done = self.session.close(deadline_ms)
            else:
                done = self.session.close(deadline_ms, idle)
            log.info("B-route session ended" if done else "B-route session closed (no confirmation)")
        except Exception as e:
            self._error("close", e)
        if self.amb is not None:
            self.amb.close()
        if self.mqtt is not None:
            self.mqtt.close()
        self.store.save()

    def healthy(self, now=None):
        """True while the loop makes progress (the watchdog is fed only then)."""
        if now is None:
            now = self.clock()
        if self._state in ("paused", "failed"):
            return True  # waiting on purpose: the radio limit or a reason on the screen
        return ticks_diff(now, self._progress_t) < STALL_MS

    def _wait_ms(self, now):
        try:
            ms = self.session.wait_ms()
        except Exception:
            ms = 100
        if self._buttons is not None and ms > _BUTTON_POLL_MS:
            ms = _BUTTON_POLL_MS
        if self.amb is not None:
            left = ticks_diff(self.amb.due, now)
            if left < ms:
                ms = left
        if self.mqtt is not None:
            left = ticks_diff(self.mqtt.due, now)
            if left < ms:
                ms = left
        if self.fb is not None:
            left = ticks_diff(self._draw_t, now) + (1000 if self.session.reading is None else 10000)
            if left < ms:
                ms = left
        if self._dirty:
            ms = 0
        if self._err_streak and ms < 100:
            ms = 100  # a failing session: do not spin
        return 0 if ms < 0 else (1000 if ms > 1000 else ms)

    def _error(self, where, e):
        self.last_error = "%s: %s" % (where, e)
        log.error("%s failed: %r", where, e)

    # --- buttons and screen -------------------------------------------------------------
    def _poll_buttons(self, now, buttons):
        press = buttons()
        if press == "a" or press == "b":
            press = "A" if press == "a" else "B"
        elif press != "A" and press != "B":
            return
        if self._night and self._brightness == 0 and self._wake_t is None:
            self._wake_t = now  # first press on a dark screen only lights it
            self._dirty = True
            return
        if self._night:
            self._wake_t = now
        if press == "A":
            self.flip = not self.flip
            self.store.set("flip", self.flip)
            self.store.save()
            if self.set_flip is not None:
                self.set_flip(self.flip)
            log.info("screen flipped" if self.flip else "screen upright")
        elif press == "B":
            i = _SCREENS.index(self.screen) if self.screen in _SCREENS else -1
            self.screen = _SCREENS[(i + 1) % len(_SCREENS)]
            if self.screen == "today":
                try:
                    self.session.request_today()
                except Exception as e:
                    self._error("today", e)
        self._dirty = True

    def screen_name(self):
        """The screen to draw now: connecting until the first reading, else the chosen one."""
        if self.session.reading is None and self.screen == "main":
            return "connecting"
        return self.screen

    def _poll_display(self, now):
        set_brightness = self.set_brightness
        if set_brightness is not None:
            disp = self.cfg["display"]
            night = disp["night"]
            level = disp["brightness"]
            if night is not None:
                if self._night_t is None or ticks_diff(now, self._night_t) >= 30000:
                    self._night_t = now
                    utc = self.cfg["utc_offset_s"]
                    self._night = in_window(self.wall(), utc, night["start"], night["end"])
                if self._wake_t is not None and ticks_diff(now, self._wake_t) >= _WAKE_MS:
                    self._wake_t = None
                if self._night and self._wake_t is None:
                    level = night["brightness"]
            if level != self._brightness:
                self._brightness = level
                set_brightness(level)
        if self.fb is None:
            self._dirty = False
            return
        # every 1 s while connecting (progress), then every 10 s on every screen: a refresh cycle
        # holds one redraw (a diagnostics redraw every second allocated ~10 KB per 10 s cycle)
        redraw_ms = 1000 if self.session.reading is None else 10000
        if not self._dirty and ticks_diff(now, self._draw_t) < redraw_ms:
            return
        self._dirty = False
        self._draw_t = now
        try:
            from ui import screens

            name = self.screen_name()
            v = self.view
            if v is None:
                from ui import view

                v = self.view = view.View()
            screens.module(name).fill(v, self, now)  # only the screen on display is imported
            screens.draw(self.fb, v, name)
            if self._show is not None:
                self._show()
            self.draws += 1
        except Exception as e:
            self.draw_errors += 1
            if self.draw_errors <= 3 or self.draw_errors % 100 == 0:
                self._error("screen", e)

    # --- Wi-Fi and clock ------------------------------------------------------------------
    def _poll_network(self, now, network):
        try:
            up = bool(network.is_connected())
        except Exception:
            up = False
        if up != self.wifi_up:
            self.wifi_up = up
            self._dirty = True
            if up:
                log.info("Wi-Fi connected")
                self._wifi_backoff = _WIFI_RETRY_MS
            else:
                self.wifi_drops += 1
                log.warning("Wi-Fi lost; reconnecting")
                self._wifi_t = ticks_add(now, -_WIFI_RETRY_MS)
        if up or ticks_diff(now, self._wifi_t) < 0:
            return
        try:
            network.connect()
        except Exception as e:
            self._error("Wi-Fi", e)
        self._wifi_t = ticks_add(now, self._wifi_backoff)
        self._wifi_backoff = min(self._wifi_backoff * 2, _WIFI_RETRY_MAX_MS)

    def _poll_time(self, now, sync_time):
        """Set the clock when due; True when sync_time() was called (a network call)."""
        if not self.wifi_up or ticks_diff(now, self._sync_t) < 0:
            return False
        try:
            ok = bool(sync_time())
        except Exception as e:
            self._error("clock", e)
            ok = False
        if ok:
            if not self.time_synced:
                log.info("clock set")
            self.time_synced = True
            self._dirty = True
            self._sync_backoff = _SYNC_RETRY_MS
            self._sync_t = ticks_add(now, _RESYNC_MS)
        else:
            self._sync_t = ticks_add(now, self._sync_backoff)
            self._sync_backoff = min(self._sync_backoff * 2, _SYNC_RETRY_MAX_MS)
        return True

    # --- session --------------------------------------------------------------------------
    def _poll_session(self, now):
        s = self.session
        try:
            s.poll()
            self._err_streak = 0
        except Exception as e:
            self.poll_errors += 1
            self._err_streak += 1
            if self._err_streak <= 3 or ticks_diff(now, self._err_log_t) >= 60000:
                self._err_log_t = now
                self._error("session", e)
            if self._err_streak >= 50 and self._own_session:
                log.warning("session keeps failing; starting it again")
                self._restart_session(now)
            return
        state = s.state
        status = s.status
        if state != self._state or status != self._status:
            if state != self._state:
                log.info("session %s: %s", state, status)
            else:
                log.debug("session: %s", status)
            self._state = state
            self._status = status
            self._progress_t = now
            self._failed_t = now if state == "failed" else None
            self._dirty = True
        elif state == "failed" and self._own_session and ticks_diff(now, self._failed_t) >= _FAILED_RETRY_MS:
            log.info("trying the meter again")
            self._restart_session(now)
            return
        r = s.reading
        if r is not None and r.t != self._reading_t:
            self._reading_t = r.t
            self._progress_t = now
            self._dirty = True
            self._update_charge()
            if self._reading_log_t is None or ticks_diff(now, self._reading_log_t) >= 60000:
                self._reading_log_t = now
                log.info(
                    "reading: %s W, R %s A, T %s A, period %s kWh, %s yen",
                    r.power_w,
                    None if r.current_r_da is None else "%.1f" % (r.current_r_da / 10),
                    None if r.current_t_da is None else "%.1f" % (r.current_t_da / 10),
                    None if s.period_kwh is None else "%.2f" % s.period_kwh,
                    self.charge_yen,
                )

    def _restart_session(self, now):
        try:
            self.session.close(500)
        except Exception:
            pass
        self._err_streak = 0
        self._state = None
        self._failed_t = None
        self.session = self._new_session()
        self._progress_t = now

    def _update_charge(self):
        """The period's yen (charge_yen) and bill: looked up in the prices that lib/app/bill.py makes
        each half hour and after each history answer (it caches the day and asks for the days
        missing), or from a plug-in tariff; None without a clock or the period's kWh."""
        s = self.session
        kwh = s.period_kwh
        wh = -1 if kwh is None else int(kwh * 1000 + 0.5)
        w = self.wall()
        h = self._hist
        pr = h[1]
        if w is not None:
            k = (w + 32400) // 1800 * 64 + s.history_seq % 64  # the meter's half hours: Japan time
            # a new half hour (or history answer), or the period's Wh beyond the last step
            if k != h[2] or pr is not None and pr[1] is not None and wh >= pr[1][-2]:
                try:  # fourth argument: history answers since the last call
                    pr = h[1] = lazy.call("app.bill", "update", self, h[0], w, (k - h[2]) % 64, pr, wh)
                except Exception as e:  # a flash or plug-in failure: tried again in half an hour
                    self._error("bill", e)
                h[2] = k
                self._charge_kwh = None
        if kwh is None or pr is None:
            self.charge_yen = self.bill = self._charge_kwh = None
            return
        if kwh == self._charge_kwh:
            return
        self._charge_kwh = kwh
        fn = self.plugin
        try:
            yen = yen_at(pr[1], wh) if fn is None else int(fn(self.amperage, kwh) // 1)
        except Exception as e:  # a plug-in tariff may fail, or answer something else than a number
            self.charge_yen = self.bill = None
            self._error("tariff", e)
            return
        x = pr[3]
        self.charge_yen = yen
        self.bill = (yen, pr[2], None if x is None else max(wh, pr[7]) + x, pr[4])

    def fresh_reading(self, now=None):
        """The latest reading when it is younger than _STALE_MS, else None."""
        r = self.session.reading
        if r is None:
            return None
        if now is None:
            now = self.clock()
        return r if ticks_diff(now, r.t) < _STALE_MS else None

    def figures(self):
        """The app's figures for the MQTT state: period_kwh, today_kwh, forecast_kwh (kWh),
        charge_yen, forecast_yen (yen)."""
        kwh = self.session.period_kwh
        b = self.bill
        t = self.today_wh()
        f = b and b[2]
        return {
            "period_kwh": kwh,
            "charge_yen": self.charge_yen if kwh is not None else None,
            "today_kwh": None if t is None else t / 1000,
            "forecast_kwh": None if f is None else f / 1000,
            "forecast_yen": b and b[3],
        }

    # --- Ambient ----------------------------------------------------------------------------
    def make_record(self, now):
        """The Ambient record of the latest fresh reading, with its created time; None if none."""
        r = self.fresh_reading(now)
        wall = self.wall()
        if r is None or wall is None or r.t == self._recorded_t:
            return None  # no fresh reading, or this one is already on its way (no duplicate points)
        self._recorded_t = r.t
        s = self.session
        created = wall * 1000 - ticks_diff(now, r.t)
        t = self.today_wh()
        return record.make_record(
            current_a(r),
            r.power_w,
            s.period_kwh,
            self.charge_yen if s.period_kwh is not None else None,
            getattr(s, "period_reverse_kwh", None),
            created,
            self.bill and self.bill[3],
            None if t is None else t / 1000,
        )

    # --- view: what lib/ui's fill(v, app, now) functions read besides the public attributes ---
    def period(self):
        """(m1, d1, m2, d2): first and last day of the billing period, or None before the first prices."""
        pr = self._hist[1]
        return None if pr is None else pr[5]

    def today(self):
        """Today's 48 half hours (Wh | None) from midnight, or None: never another day's (after
        midnight yesterday's chart is not today's). Days are the meter's, Japan time (UTC+9),
        whatever utc_offset_s says. Asks the session for a fresh copy, which it fetches at most
        every 30 min."""
        s = self.session
        try:
            s.request_today()
        except Exception as e:
            self._error("today", e)
        t = s.today
        wall = self.wall()
        pr = self._hist[1]
        if t is None or t[0] is None or wall is None or pr is None:
            return None
        n, y, m, d = pr[6]  # the meter's day when the prices were made (they are made at 00:00 too)
        if n != (wall + 32400) // 86400 or t[0] != y or t[1] != m or t[2] != d:
            return None
        return t[3]

    def today_wh(self):
        """Wh used today in the half hours known (today()), or None."""
        t = self.today()
        if t is None:
            return None
        n = 0
        for wh in t:
            if wh is not None:
                n += wh
        return n


def yen_at(steps, wh):
    """The yen in lib/app/bill.py's steps [limit Wh, yen, ...] for the period's wh (Wh); None beyond
    the last limit (the App asks for new prices then)."""
    for i in range(0, len(steps), 2):
        if wh < steps[i]:
            return steps[i + 1]
    return None


def current_a(reading):
    """The phase current of larger magnitude in A (what the breaker sees), signed
    like the meter's (negative on export); None when the meter gave none."""
    r = reading.current_r_da
    t = reading.current_t_da
    if r is None or (t is not None and abs(t) > abs(r)):
        r = t
    return None if r is None else r / 10


def in_window(wall, utc_offset_s, start, end):
    """True when local time (wall: Unix s or None) is within [start, end) minutes; may wrap midnight."""
    if wall is None or start == end:
        return False
    m = (wall + utc_offset_s) % 86400 // 60
    if start < end:
        return start <= m < end
    return m >= start or m < end
