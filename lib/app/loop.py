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
Ambient: one record every ambient.interval s from the latest fresh reading
(never a stale one: skipped and counted); a failed send keeps the record, with
its created time, in ambient.Backlog (a flash file), flushed through
/dataarray in small batches once sends work (at most FLUSH_BYTES of records
every FLUSH_GAP_MS, so a flush allocates little), at most one request per 5 s
and 3000 records a day (ambient.Limiter). No record is sent before the wall clock is set.
"""

import ambient
import log
import store as _store
from billing import tariff as _tariff
from ticks import ticks_add, ticks_diff

SCREENS = ("main", "today", "diagnostics")
WIFI_RETRY_MS = 15000  # first Wi-Fi retry; doubles up to WIFI_RETRY_MAX_MS
WIFI_RETRY_MAX_MS = 120000
SYNC_RETRY_MS = 10000  # first NTP retry; doubles up to SYNC_RETRY_MAX_MS
SYNC_RETRY_MAX_MS = 300000
RESYNC_MS = 86400000  # NTP again once a day
POST_TIMEOUT_S = 10
POST_RETRY_MS = 10000  # first retry after a failed send; doubles up to POST_RETRY_MAX_MS
POST_RETRY_MAX_MS = 120000
STALE_MS = 60000  # a reading older than this is stale (screen and Ambient)
STALL_MS = 900000  # no progress for 15 min: stop feeding the watchdog
FAILED_RETRY_MS = 600000  # a session that gave up is rebuilt after 10 min
WAKE_MS = 30000  # a button press lights a night-dimmed screen this long
LIMITER_SAVE_MS = 600000
FLUSH_GAP_MS = 12000  # no backlog flush sooner after a request: one per ~10 s refresh cycle
FLUSH_WAIT_MS = 10000  # no flush check sooner after the limiter refused one (day's quota used)
FLUSH_BYTES = 400  # a flush carries at most this many bytes of records (~5; it allocates about twice)
BUTTON_POLL_MS = 50


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
    ):
        self.cfg = cfg
        self.uart = uart
        self.clock = clock
        self.wall = wall
        self.fb = fb
        self._show = show
        self._buttons = buttons
        self.network = network
        self.http_post = http_post
        self._set_brightness = set_brightness
        self._set_flip = set_flip
        self._feed = feed
        self._sync_time = sync_time
        self._mem_free = mem_free
        self.store = _store.Store(state_path)
        self.tariff = _tariff.load(cfg.get("charge_func"), cfg.get("tariff"))
        self.amperage = cfg["contract_amperage"]
        self._own_session = session is None
        self.session = session if session is not None else self._new_session()
        now = clock()
        self.started = now
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
        self._reading_log_t = None
        self._recorded_t = None  # ticks (ms) of the reading in the last Ambient record
        # screen
        self.screen = "main"
        self._period_day = None
        self._period_val = None
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
        self._wifi_backoff = WIFI_RETRY_MS
        self.wifi_drops = 0
        self._sync_t = now
        self._sync_backoff = SYNC_RETRY_MS
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
            utc_offset_s=c["utc_offset_s"],
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
        if self._sync_time is not None:
            self._poll_time(now, self._sync_time)
        self._poll_session(now)
        amb = self.amb
        if amb is not None:
            try:
                amb.poll(now, self.wifi_up, self._make_record)
            except Exception as e:  # a bug here must not stop the readings
                self._error("ambient", e)
        self._poll_display(now)
        if self._feed is not None and self.healthy(now):
            self._feed()
        return self._wait_ms(now)

    def run(self, sleep_ms, running=None):
        """Loop until running() is False: step(), then sleep_ms(ms) (the caller's sleep)."""
        while running is None or running():
            sleep_ms(self.step())

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
        if self._buttons is not None and ms > BUTTON_POLL_MS:
            ms = BUTTON_POLL_MS
        if self.amb is not None:
            left = ticks_diff(self.amb.due, now)
            if left < ms:
                ms = left
        if self.fb is not None:
            left = ticks_diff(self._draw_t, now) + self._redraw_ms()
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
            if self._set_flip is not None:
                self._set_flip(self.flip)
            log.info("screen flipped" if self.flip else "screen upright")
        elif press == "B":
            i = SCREENS.index(self.screen) if self.screen in SCREENS else -1
            self.screen = SCREENS[(i + 1) % len(SCREENS)]
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

    def _redraw_ms(self):
        """Every 1 s while connecting (progress), then every 10 s on every screen: a refresh cycle
        holds one redraw (a diagnostics redraw every second allocated ~10 KB per 10 s cycle)."""
        return 1000 if self.session.reading is None else 10000

    def _poll_display(self, now):
        self._poll_brightness(now)
        if self.fb is None:
            self._dirty = False
            return
        if not self._dirty and ticks_diff(now, self._draw_t) < self._redraw_ms():
            return
        self._dirty = False
        self._draw_t = now
        try:
            from ui import screens

            self.fill_view(now)
            screens.draw(self.fb, self.view, self.screen_name())
            if self._show is not None:
                self._show()
            self.draws += 1
        except Exception as e:
            self.draw_errors += 1
            if self.draw_errors <= 3 or self.draw_errors % 100 == 0:
                self._error("screen", e)

    def _poll_brightness(self, now):
        set_brightness = self._set_brightness
        if set_brightness is None:
            return
        disp = self.cfg["display"]
        night = disp["night"]
        level = disp["brightness"]
        if night is not None:
            if self._night_t is None or ticks_diff(now, self._night_t) >= 30000:
                self._night_t = now
                self._night = in_window(self.wall(), self.cfg["utc_offset_s"], night["start"], night["end"])
            if self._wake_t is not None and ticks_diff(now, self._wake_t) >= WAKE_MS:
                self._wake_t = None
            if self._night and self._wake_t is None:
                level = night["brightness"]
        if level != self._brightness:
            self._brightness = level
            set_brightness(level)

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
                self._wifi_backoff = WIFI_RETRY_MS
            else:
                self.wifi_drops += 1
                log.warning("Wi-Fi lost; reconnecting")
                self._wifi_t = ticks_add(now, -WIFI_RETRY_MS)
        if up or ticks_diff(now, self._wifi_t) < 0:
            return
        try:
            network.connect()
        except Exception as e:
            self._error("Wi-Fi", e)
        self._wifi_t = ticks_add(now, self._wifi_backoff)
        self._wifi_backoff = min(self._wifi_backoff * 2, WIFI_RETRY_MAX_MS)

    def _poll_time(self, now, sync_time):
        if not self.wifi_up or ticks_diff(now, self._sync_t) < 0:
            return
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
            self._sync_backoff = SYNC_RETRY_MS
            self._sync_t = ticks_add(now, RESYNC_MS)
        else:
            self._sync_t = ticks_add(now, self._sync_backoff)
            self._sync_backoff = min(self._sync_backoff * 2, SYNC_RETRY_MAX_MS)

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
        elif state == "failed" and self._own_session and ticks_diff(now, self._failed_t) >= FAILED_RETRY_MS:
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
                    _amps(r.current_r_da),
                    _amps(r.current_t_da),
                    _fmt(s.period_kwh, 2),
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
        kwh = self.session.period_kwh
        if kwh is None:
            self.charge_yen = None
            self._charge_kwh = None
            return
        if kwh == self._charge_kwh:
            return
        self._charge_kwh = kwh
        try:
            self.charge_yen = self.tariff.charge(self.amperage, kwh)
        except Exception as e:  # a plug-in tariff may fail
            self.charge_yen = None
            self._error("tariff", e)

    def fresh_reading(self, now=None):
        """The latest reading when it is younger than STALE_MS, else None."""
        r = self.session.reading
        if r is None:
            return None
        if now is None:
            now = self.clock()
        return r if ticks_diff(now, r.t) < STALE_MS else None

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
        return ambient.make_record(
            current_a(r),
            r.power_w,
            s.period_kwh,
            self.charge_yen if s.period_kwh is not None else None,
            getattr(s, "period_reverse_kwh", None),
            created,
        )

    # --- view -------------------------------------------------------------------------------
    def fill_view(self, now=None):
        """Copy the state into self.view (lib/view.py) for screens.draw; returns it."""
        if now is None:
            now = self.clock()
        if self.view is None:
            from ui import view as _view

            self.view = _view.View()
        return self._fill(self.view, now)

    def _fill(self, v, now):
        s = self.session
        r = s.reading
        state = s.state
        v.contract_a = self.amperage
        if r is not None:
            age = ticks_diff(now, r.t)
            v.power_w = r.power_w
            v.current_r_da = r.current_r_da
            v.current_t_da = r.current_t_da
            v.age_s = age // 1000
            v.stale = age >= STALE_MS
        else:
            v.power_w = v.current_r_da = v.current_t_da = v.age_s = v.stale = None
        v.period_kwh = s.period_kwh
        v.charge_yen = self.charge_yen if s.period_kwh is not None else None
        v.period = self._period()
        v.link = _LINK.get(state, "wait")
        if self.network is None:
            v.wifi = "off"
        else:
            v.wifi = "ok" if self.wifi_up else ("down" if self.wifi_drops else "wait")
        amb = self.amb
        if amb is None:
            v.ambient = "off"
            v.amb_ok = v.amb_failed = v.amb_buffered = 0
        else:
            v.ambient = amb.status()
            v.amb_ok = amb.sent
            v.amb_failed = amb.failed
            v.amb_buffered = len(amb.backlog)
        # connecting screen
        if state in ("start", "scan"):
            v.step = "scan"
        elif state == "join":
            v.step = "join"
        else:
            v.step = "read"
        if state == "start" and self.network is not None and not self.wifi_up:
            v.step = "wifi"
        elif state == "start" and self.wall() is None and self._sync_time is not None:
            v.step = "time"
        v.status = s.status or ""
        v.progress = s.progress if state in ("scan", "join") else None
        v.reason = (s.error or s.status) if state == "failed" else None
        # the status line shows an error only while it matters
        if self.screen == "diagnostics":
            v.error = s.error or self.last_error or (amb.last_error if amb is not None else None)
        elif state != "ready" and s.error:
            v.error = s.error
        elif amb is not None and amb.backoff_ms:
            v.error = amb.last_error
        else:
            v.error = None
        today = s.today
        v.today = today[3] if today else None
        v.today_kwh = None
        info = s.info or {}
        v.channel = info.get("channel")
        v.pan_id = info.get("pan_id")
        v.lqi = info.get("lqi")
        v.version = info.get("version")
        v.uptime_s = self.uptime_s
        mem_free = self._mem_free
        v.free_heap = mem_free() if mem_free is not None else None
        return v

    def _period(self):
        """(m1, d1, m2, d2): first and last day of the billing period, or None without a clock."""
        wall = self.wall()
        if wall is None:
            return None
        day = (wall + self.cfg["utc_offset_s"]) // 86400
        if day != self._period_day:
            import billing

            y, m, d, _, _, _ = billing.local_date(wall, self.cfg["utc_offset_s"])
            rd = self.cfg["collect_date"]
            _, m1, d1 = billing.billing_period_start(rd, y, m, d)
            _, m2, d2 = billing.billing_period_end(rd, y, m, d)
            self._period_day = day
            self._period_val = (m1, d1, m2, d2)
        return self._period_val


class Forwarder:
    """Ambient store-and-forward: one record per interval, a flash backlog, the limits.

    amb: the config's ambient section; http_post(url, body, timeout_s) -> status;
    wall() -> Unix s or None; store: the app's Store (keeps the day's count).
    Counters: sent (records Ambient accepted), failed (failed requests),
    skipped (records not made: no fresh reading or no wall clock), flushed
    (records sent late from the backlog); last_error; backoff_ms (0 while sends work).
    batch: at most this many records per flush (FLUSH_BYTES caps a flush's bytes too).
    """

    def __init__(self, amb, http_post, wall, store, backlog_path, now, batch=24):
        self.http_post = http_post
        self.wall = wall
        self.store = store
        self.batch = batch
        self._key = amb["write_key"]
        self._bulk_head = ambient.array_head(self._key)  # built once: it starts every /dataarray body
        self._url = ambient.url(amb["url"], amb["channel_id"])
        self._bulk_url = ambient.url(amb["url"], amb["channel_id"], True)
        self.interval_ms = amb["interval"] * 1000
        self.due = ticks_add(now, self.interval_ms)
        self.sent = 0
        self.failed = 0
        self.skipped = 0
        self.flushed = 0
        self.last_error = None
        self.backoff_ms = 0
        self._post_t = now
        self._refused_t = None  # when the limiter last refused a flush
        self._saved_t = now
        self.backlog = ambient.Backlog(backlog_path)
        self.limiter = ambient.Limiter()
        self.limiter.restore(store.get("ambient_limiter"))
        if len(self.backlog):
            log.info("ambient: %d records waiting from before the restart", len(self.backlog))

    def status(self):
        """A word for the status line: ok, buffer (records waiting) or fail (sends failing)."""
        return "fail" if self.backoff_ms else ("buffer" if len(self.backlog) else "ok")

    def poll(self, now, online, make_record):
        """Make the record that is due, send or keep it, flush the backlog.

        What changes on the screen (the status word, the counts, the error) shows with the next
        redraw, at most 10 s later: a redraw of its own would add ~0.6 KB to a cycle that
        already holds a send, a failure or a flush."""
        if ticks_diff(now, self.due) >= 0:
            self.due = ticks_add(self.due, self.interval_ms)
            if ticks_diff(now, self.due) >= 0:  # far behind (a long block): no burst
                self.due = ticks_add(now, self.interval_ms)
            rec = make_record(now)
            if rec is None:
                self.skipped += 1
                log.debug("ambient: no fresh reading, record skipped")
            elif len(self.backlog) or not self._send_one(now, online, rec):
                if not self.backlog.add(rec):
                    log.warning("ambient: backlog file not writable")
        if len(self.backlog):
            self._flush(now, online)
        if ticks_diff(now, self._saved_t) >= LIMITER_SAVE_MS:
            self._saved_t = now
            self.store.set("ambient_limiter", self.limiter.state())
            self.store.save()

    def close(self):
        self.store.set("ambient_limiter", self.limiter.state())
        self.backlog.save()

    def _can_send(self, now, online, n):
        """The wall clock (Unix s) when a request of n records may go now, else None."""
        wall = self.wall()
        if wall is None or not online or 0 <= ticks_diff(now, self._post_t) < self.backoff_ms:
            return None  # (a request more than ~6 days ago reads as negative: long past)
        return wall if self.limiter.allow(wall, n) else None

    def _post(self, now, wall, url, body, n):
        """One request; True on HTTP 2xx. Spends the limiter (n records on success).

        A failure allocates little: no answer is a constant last_error, the log line is
        formatted only for the first failures and every 50th."""
        self._post_t = now
        err = None
        try:
            status = self.http_post(url, body, POST_TIMEOUT_S)
        except Exception as e:
            status = None
            err = e
        ok = status is not None and 200 <= status < 300
        self.limiter.spend(wall, n if ok else 0)
        if ok:
            self.backoff_ms = 0
            return True
        self.failed += 1
        self.backoff_ms = (
            POST_RETRY_MS if not self.backoff_ms else min(self.backoff_ms * 2, POST_RETRY_MAX_MS)
        )
        self.last_error = "Ambient: HTTP %d" % status if status is not None else "Ambient: no answer"
        if self.failed <= 3 or self.failed % 50 == 0:
            log.warning("ambient send failed (%s); %d waiting", self.last_error[9:], len(self.backlog))
        if err is not None and self.failed <= 3:
            log.debug("ambient: %r", err)
        return False

    def _send_one(self, now, online, rec):
        wall = self._can_send(now, online, 1)
        if wall is None:
            return False
        if self._post(now, wall, self._url, ambient.body(self._key, rec), 1):
            self.sent += 1
            return True
        return False

    def _flush(self, now, online):
        """Send the oldest records (a batch through /dataarray) when a request may go.

        The body is read from the backlog file into one buffer (Backlog.peek_body): a flush
        allocates about twice the body, so the batch is kept small; at one request per
        FLUSH_GAP_MS a backlog still drains far faster than records are made."""
        # runs every step while records wait: no wall clock or limiter arithmetic (allocates)
        if not online or 0 <= ticks_diff(now, self._post_t) < max(self.backoff_ms, FLUSH_GAP_MS):
            return
        t = self._refused_t
        if t is not None:
            if 0 <= ticks_diff(now, t) < FLUSH_WAIT_MS:
                return
            self._refused_t = None
        wall = self.wall()
        # near the day's quota send what still fits rather than waiting for a full batch
        n = 0 if wall is None else min(len(self.backlog), self.batch, self.limiter.room(wall))
        if not n:
            self._refused_t = now  # quota used (or the clock unset): not again every step
            return
        # while sends fail, each retry carries one record: a refused request costs little
        body, n = self.backlog.peek_body(self._bulk_head, n, 0 if self.backoff_ms else FLUSH_BYTES)
        if not n:  # records counted but not readable (a failed write or read): recount from the file
            self._refused_t = now
            self.backlog.load()
            return
        ok = self._post(now, wall, self._bulk_url, body, n)
        body = None
        if not ok:
            return
        self.backlog.drop(n)
        self.sent += n
        self.flushed += n
        if not len(self.backlog):
            log.info("ambient: backlog sent (%d records so far)", self.flushed)


_LINK = {"ready": "ok", "start": "join", "scan": "join", "join": "join", "failed": "fail"}


def config_error_view(problems, page=0):
    """A View for the config error screen (problems: list of "key: what is expected")."""
    from ui import view as _view

    return _problems_view(_view.View(), problems, page)


def _problems_view(v, problems, page):
    v.problems = problems
    v.page = page
    return v


def current_a(reading):
    """The phase current of larger magnitude in A (what the breaker sees), signed
    like the meter's (negative on export); None when the meter gave none."""
    r = reading.current_r_da
    t = reading.current_t_da
    if r is None or (t is not None and abs(t) > abs(r)):
        r = t
    return None if r is None else r / 10


def _amps(da):
    return None if da is None else "%.1f" % (da / 10)


def _fmt(v, digits):
    return None if v is None else ("%.2f" if digits == 2 else "%.1f") % v


def in_window(wall, utc_offset_s, start_min, end_min):
    """True when local time (wall: Unix s or None) is within [start, end) minutes; may wrap midnight."""
    if wall is None or start_min == end_min:
        return False
    m = (wall + utc_offset_s) % 86400 // 60
    if start_min < end_min:
        return start_min <= m < end_min
    return m >= start_min or m < end_min
