"""B-route session driver: SK commands to a BP35A1-family module, ECHONET Lite to the meter.

Session(uart, clock, store, rbid, password, ...) never blocks: the app
calls poll() whenever it likes (at the latest after wait_ms() ms, or when
the UART has bytes) and reads state, status, reading and period_kwh.
Start-up, scan and join run as a generator driven by poll(); the steady
state (one request at a time, matched on TID + SEOJ 028801) is a plain
state machine that allocates little per refresh: the SKSENDTO line lives
in a preallocated buffer and only the TID and length are patched in.

Every wait has a deadline; there are no sleeps. Credentials are written
to the module and nowhere else: never logged, never in an exception.
Timings and the state machine: docs/session.md.

Heap: on the device the bytecode of every imported module lives in the
heap, so only the steady request/answer cycle is here. The start-up task
(set-up, scan, join; ll64, scan_ms and NO_METER too) is lib/session/join.py,
loaded while it runs; what happens a few times a day (D3/E1/D7 and history
answers, refusals, lost or expired sessions, the transmit limit, close) is
lib/session/recover.py, loaded for the call. Both are dropped from sys.modules
again.
"""

import lazy

import billing
from meter import echonet
import log
import meter
from link import sk
from ticks import ticks_add, ticks_diff

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


SCAN_DURATIONS = (4, 5, 6, 7)

_READ = const(1)  # request kinds (lib/session/recover.py uses the same values)
_INFO = const(2)
_SETDAY = const(3)
_HIST = const(4)
_BASE = const(1)  # why history is fetched
_TODAY = const(2)

_CMD_MS = const(3000)  # OK/FAIL of an SK command
_ANSWER_MS = const(5000)  # a meter answer (typically 0.4-1 s)
_HIST_MS = const(15000)  # an E2/E4 answer (194+ bytes)
_TRIES = const(4)  # sends per request before the session counts as lost
_SEND_FAIL_MS = const(2000)  # retry this soon after EVENT 21 param 01 / FAIL
_TODAY_MS = const(1800000)  # today's history at most this often
_CHECK_MS = const(60000)  # billing period check
_ECHONET_PORT = const(0x0E1A)


class Reading:
    """The latest meter values, updated in place (t changes with each new reading).

    t: ticks (ms) when read; tid: TID of the answer; power_w: W (negative = export); current_r_da,
    current_t_da: 0.1 A (T None on 2-wire meters); cumulative_kwh,
    reverse_kwh: kWh (None until D3/E1 are known or where unsupported);
    cumulative_raw, reverse_raw: the meter's raw counts.
    """

    def __init__(self):
        self.t = 0
        self.tid = 0
        self.power_w = None  # type: int | None
        self.current_r_da = None  # type: int | None
        self.current_t_da = None  # type: int | None
        self.cumulative_kwh = None  # type: float | None
        self.reverse_kwh = None  # type: float | None
        self.cumulative_raw = None  # type: int | None
        self.reverse_raw = None  # type: int | None


class Session:
    """One B-route session (see the module docstring and docs/session.md).

    uart: write/readinto/any; clock: ticks ms; store: store.Store;
    dialect: "auto" | "bp35a1" | "bp35c0"; refresh_s: s between readings;
    reading_day: meter-reading day 1..31 (None: no period figures);
    wall: callable -> Unix s or None; utc_offset_s: s (JST 32400).
    """

    def __init__(
        self,
        uart,
        clock,
        store,
        rbid,
        password,
        dialect="auto",
        refresh_s=10,
        reading_day=None,
        wall=None,
        utc_offset_s=32400,
        scan_durations=SCAN_DURATIONS,
    ):
        self._rbid = rbid or ""
        self._pwd = password or ""
        log.secret(self._rbid)
        log.secret(self._pwd)
        if len(self._rbid) >= 8:
            log.secret(self._rbid[-8:])  # the PairID a scan prints
        self._uart = uart
        self._clock = clock
        self._store = store
        self._refresh_ms = int(refresh_s * 1000)
        self._reading_day = reading_day
        self._wall = wall
        self._utc = utc_offset_s
        self._durations = scan_durations
        if dialect == "auto":
            dialect = store.get("dialect") or "bp35a1"
        self._dss = dialect == "bp35c0"
        self._rx = bytearray(256)
        self._rxmv = memoryview(self._rx)
        self._reader = sk.LineReader(1400)
        self._tx = bytearray(640)
        self._txmv = memoryview(self._tx)
        self._txh = 0
        self.state = "start"
        self.status = "Starting"
        self.progress = 0
        self.error = None
        self.reading = None
        self.period_kwh = None
        self.period_reverse_kwh = None
        self.baseline = None
        self.today = None
        self.fixed_normal = None  # latest EA push: ((Y, M, D, h, m, s), kWh | None)
        self.fixed_reverse = None  # latest EB push
        self.info = {
            "channel": None,
            "pan_id": None,
            "addr": None,
            "lqi": None,
            "version": None,
            "dialect": dialect,
            "hex": None,
        }
        self.counters = {
            "requests": 0,
            "answers": 0,
            "timeouts": 0,
            "retries": 0,
            "rejoins": 0,
            "rescans": 0,
            "unsolicited": 0,
            "scans": 0,
            "joins": 0,
            "send_failures": 0,
            "bad_lines": 0,
            "infc_res": 0,
        }
        now = self._now = clock()
        self._tid = (now & 0x3FFF) + 1
        self._resp = None  # OK/FAIL tuple of the last command
        self._cmd_until = None  # deadline of the SK command in flight
        self._until = now  # deadline the start-up task waits for
        self._pans = None  # EPANDESC dicts while scanning
        self._scan_done = False
        self._join_result = None
        self._ip = None
        self._req = 0  # kind of the request in flight (0 = none)
        self._req_frame = b""
        self._req_tid = -1
        self._req_until = now
        self._req_tries = 0
        self._resend = False
        self._hold_until = now
        self._read_epcs = [0xE7, 0xE8, 0xE0, 0xE3]
        self._hist_epcs = [0xE2, 0xE4]
        self._read_frame = echonet.build_get(0, self._read_epcs)
        self._info_ok = False
        self._coef = 1  # type: int
        self._unit = 1.0  # type: float
        self._digits = None  # type: int | None
        self._next_read = now
        self._lost = 0
        self._infc = []
        self._hist_for = 0
        self._hist_day = 0
        self._hist_date = (0, 0, 0, 0, 0, 0)  # today and the period start of a baseline fetch
        self._hist_next = False
        self._echo_off = False
        b = store.get("baseline")  # [sy, sm, sd, raw, raw_reverse, fy, fm, fd]
        self._base = b if isinstance(b, list) and len(b) == 8 and isinstance(b[3], int) else None
        self._base_next = now
        self._base_retry = None
        self._today_wanted = False
        self._today_t = None
        self._closing = False
        self._closed = False
        self._wake = now
        self._task = self._connect(True, False)

    # ---- public ----------------------------------------------------------
    def poll(self):
        """Read what the UART has and advance the state machine. Never blocks."""
        now = self._now = self._clock()
        self._read_uart()
        if self._task is not None:
            try:
                next(self._task)
            except StopIteration:
                self._end_task()
        elif self.state == "ready":
            self._step_ready(now)
        elif self.state == "reauth" or self.state == "paused":
            if ticks_diff(self._hold_until, now) <= 0:
                self._rare("hold_over")
        self._plan()

    def wait_ms(self):
        """How long the caller may sleep before the next poll (0..1000 ms).

        Bytes arriving on the UART earlier should wake the caller too
        (select.poll on the UART, or a short sleep).
        """
        if self._uart.any():
            return 0
        d = ticks_diff(self._wake, self._clock())
        return 0 if d < 0 else 1000 if d > 1000 else d

    def request_today(self):
        """Ask for today's half-hour history (fetched at most every 30 min)."""
        self._today_wanted = True

    def close(self, deadline_ms=3000, idle=None):
        """End the PANA session politely (SKTERM) and wait for EVENT 27/28.

        Waits at most deadline_ms; idle(ms) is called between polls (default:
        time.sleep_ms; tests pass the virtual clock's advance). True when the
        module confirmed the end.
        """
        return self._rare("close", deadline_ms, idle)

    # ---- start-up: module set-up, scan, join (lib/session/join.py) -------
    def _connect(self, setup, rescan):
        """The start-up task (a generator); its module stays loaded only while it runs."""
        return lazy.load("session.join").connect(self, setup, rescan)

    def _end_task(self):
        self._task = None
        lazy.drop("session.join")  # start-up code: free its bytecode (the qstrs stay)
        lazy.drop("link.sk_scan")

    # ---- UART ------------------------------------------------------------
    def _read_uart(self):
        uart = self._uart
        reader = self._reader
        for _ in range(8):  # bounded work per poll
            if not uart.any():
                return
            n = uart.readinto(self._rxmv)
            if not n:
                return
            reader.feed(self._rxmv[:n])
            while True:
                line = reader.next_line()
                if line is None:
                    break
                self._on_line(line)

    def _on_line(self, line):
        # fast path, no allocation: "EVENT 21 <ipv6> [side] NN" follows every SKSENDTO
        n = len(line)
        if (n == 51 or n == 53) and line.startswith(b"EVENT 21 ") and line[n - 3] == 32:
            if n == 51 or self._dss:
                if line[n - 1] == 49 and line[n - 2] == 48 and self._req and self._task is None:
                    self._send_failed()  # param 01: the frame did not leave
                return
        try:
            t = sk.parse_line(line)  # type: tuple
        except ValueError:  # CodecError, or undecodable text
            self.counters["bad_lines"] += 1
            return
        kind = t[0]
        if kind == sk.ERXUDP:
            self._on_udp(t[1])
        elif kind == sk.EVENT:
            self._on_event(t[1], t[3], t[4])
        elif kind == sk.OK or kind == sk.FAIL:
            if self._cmd_until is not None:
                self._resp = t
                self._cmd_until = None
        elif kind == sk.EVER:
            self.info["version"] = t[1]
        elif kind == sk.EPANDESC:
            if self._pans is not None:
                self._pans.append({})
        elif kind == sk.FIELD:
            if self._pans:
                self._pans[-1][t[1]] = t[2]
        elif kind == sk.UNKNOWN:
            self.counters["bad_lines"] += 1
        elif kind == sk.ECHO:
            if self._task is not None:
                self._echo_off = False  # echo during set-up: this module ignores SFE 0
            elif self._echo_off and not self._closing:
                self._echo_off = False  # echo is back on: the module was reset
                self._rare("restart", "the module was reset")

    def _on_event(self, num, param, side):
        if side is not None and not self._dss:
            log.info("module prints SIDE: BP35C0 dialect")
            self._set_dss(True)
        if num == 0x21:
            if param == 1 and self._req and self._task is None:
                self._send_failed()
            return
        if num == 0x22:
            self._scan_done = True
        elif (num == 0x25 or num == 0x24) and self._task is not None:
            self._join_result = num == 0x25
        elif 0x24 <= num <= 0x29 or num == 0x32 or num == 0x33:
            self._rare("event", num)  # PANA ended, expired, re-authenticated; transmit limit

    def _on_udp(self, e):
        if e.lport != _ECHONET_PORT:
            return  # PANA
        try:
            f = echonet.parse(e.data)
        except ValueError:
            self.counters["bad_lines"] += 1
            return
        esv = f.esv
        if esv == echonet.ESV_INFC and len(self._infc) < 4:
            self._infc.append(echonet.build_infc_res(f.tid, f.seoj, [p[0] for p in f.props]))
        kind = self._req
        if kind and f.tid == self._req_tid and f.seoj == echonet.EOJ_METER and self._from_meter(e):
            if kind == _SETDAY:
                match = esv == echonet.ESV_SET_RES or esv == echonet.ESV_SETC_SNA
            else:
                match = esv == echonet.ESV_GET_RES or esv == echonet.ESV_GET_SNA
            if match:
                self._answered(f)
                return
        self.counters["unsolicited"] += 1
        if f.seoj == echonet.EOJ_METER:
            self._keep(f)

    def _from_meter(self, e):
        """True when the datagram's sender is the joined meter (IPv6, any letter case)."""
        ip = self._ip
        if ip is None:
            return True
        sender = e.sender  # decoded only for a frame that already carries our TID
        return sender == ip or sender.upper() == ip.upper()

    def _keep(self, f):
        """Latest EA/EB from a push (or any unsolicited meter frame)."""
        for epc, edt in f.props:
            if (epc == 0xEA or epc == 0xEB) and edt:
                try:
                    when, raw = meter.decode(epc, edt)  # pyright: ignore[reportGeneralTypeIssues]
                except ValueError:
                    continue
                kwh = meter.to_kwh(raw, self._coef, self._unit) if self._info_ok else None
                if epc == 0xEA:
                    self.fixed_normal = (when, kwh)
                else:
                    self.fixed_reverse = (when, kwh)

    # ---- state ---------------------------------------------------------------
    def _state(self, state, status, progress=0):
        if status != self.status:
            log.info("%s", status)
        self.state = state
        self.status = status
        self.progress = progress

    def _set_dss(self, dss):
        self._dss = dss
        self.info["dialect"] = "bp35c0" if dss else "bp35a1"
        if self._ip is not None:
            self._header()

    def _header(self):
        """SKSENDTO header in the tx buffer; the frame goes right after it."""
        h = ("SKSENDTO 1 %s 0E1A 1 %s0000 " % (self._ip, "0 " if self._dss else "")).encode()
        self._tx[: len(h)] = h
        self._txh = len(h)

    # ---- steady state ------------------------------------------------------
    def _step_ready(self, now):
        r = self._resp
        if r is not None:
            self._resp = None
            if r[0] == sk.FAIL and self._req:
                self._send_failed()
        if self._cmd_until is not None:
            if ticks_diff(self._cmd_until, now) > 0:
                return
            self._cmd_until = None  # no OK: the request deadline takes care of it
        if self._infc:
            self._raw_send(self._infc.pop(0))
            self.counters["infc_res"] += 1
            return
        if self._req:
            if self._resend:
                self._resend = False
                self._transmit(False)
            elif ticks_diff(self._req_until, now) <= 0:
                self._timeout()
            return
        if self._hist_next:  # E5 is set: get the history right away
            self._hist_next = False
            self._request(
                _HIST, echonet.build_get(0, self._hist_epcs if self._hist_for == _BASE else b"\xe2")
            )
        elif ticks_diff(self._next_read, now) <= 0:
            late = ticks_diff(now, self._next_read) >= self._refresh_ms
            self._next_read = ticks_add(now if late else self._next_read, self._refresh_ms)
            self._request(_READ, self._read_frame)
        elif not self._info_ok:
            self._request(_INFO, echonet.build_get(0, b"\xd3\xe1\xd7"))
        elif self._today_wanted and (self._today_t is None or ticks_diff(now, self._today_t) >= _TODAY_MS):
            self._today_wanted = False
            self._today_t = now
            self._history(_TODAY, 0)
        elif ticks_diff(self._base_next, now) <= 0:
            self._base_next = ticks_add(now, _CHECK_MS)
            self._check_period(now)

    def _request(self, kind, frame):
        self._req = kind
        self._req_frame = frame
        self._req_tries = 0
        self._transmit(True)

    def _transmit(self, counted):
        """SKSENDTO the request frame with a fresh TID (one write, preallocated buffer)."""
        tid = self._tid = self._tid % 0xFFFF + 1
        self._req_tid = tid
        if counted:
            self._req_tries += 1
        self._req_until = ticks_add(self._now, _HIST_MS if self._req == _HIST else _ANSWER_MS)
        self.counters["requests"] += 1
        self._raw_send(self._req_frame, tid)

    def _raw_send(self, frame, tid=-1):
        tx = self._tx
        h = self._txh
        n = len(frame)
        tx[h : h + n] = frame
        if tid >= 0:
            tx[h + 2] = tid >> 8
            tx[h + 3] = tid & 0xFF
        for k in range(4):  # datalen: 4 hex digits before the space
            tx[h - 2 - k] = b"0123456789ABCDEF"[(n >> (4 * k)) & 15]
        self._resp = None
        self._cmd_until = ticks_add(self._now, _CMD_MS)
        self._uart.write(self._txmv[: h + n])

    def _send_failed(self):
        """EVENT 21 param 01 or FAIL: the frame did not leave; retry soon (counts as a try)."""
        self.counters["send_failures"] += 1
        soon = ticks_add(self._now, _SEND_FAIL_MS)
        if ticks_diff(self._req_until, soon) > 0:
            self._req_until = soon

    def _timeout(self):
        self.counters["timeouts"] += 1
        if self._req_tries < _TRIES:
            self.counters["retries"] += 1
            self._transmit(True)
            return
        log.warning("no answer from the meter after %d tries", _TRIES)
        self._rare("lose", "meter not answering")

    def _answered(self, f):
        kind = self._req
        self._req = 0
        self._resend = False
        self._lost = 0
        self.counters["answers"] += 1
        if kind == _READ:
            self._on_read(f)
        elif kind == _SETDAY and f.esv == echonet.ESV_SET_RES:
            self._hist_next = True
        else:
            self._rare("answer", kind, f)

    def _rare(self, name, *args):
        """recover.name(self, *args): seldom work (lib/session/recover.py), loaded for the call."""
        return lazy.call("session.recover", name, self, *args)

    def _on_read(self, f):
        r = self.reading
        if r is None:
            r = self.reading = Reading()
        r.t = self._now
        r.tid = f.tid
        for epc, edt in f.props:
            if not edt:
                self._rare("refused", epc)
                continue
            try:
                v = meter.decode(epc, edt)
            except ValueError:
                self.counters["bad_lines"] += 1
                continue
            if epc == 0xE7:
                r.power_w = v  # pyright: ignore[reportAttributeAccessIssue]
            elif epc == 0xE8:
                r.current_r_da, r.current_t_da = v  # pyright: ignore[reportAttributeAccessIssue, reportGeneralTypeIssues]
            elif epc == 0xE0:
                r.cumulative_raw = v  # pyright: ignore[reportAttributeAccessIssue]
            elif epc == 0xE3:
                r.reverse_raw = v  # pyright: ignore[reportAttributeAccessIssue]
        self._kwh()

    def _kwh(self):
        r = self.reading
        if r is None or not self._info_ok:
            return
        coef = self._coef
        unit = self._unit
        r.cumulative_kwh = meter.to_kwh(r.cumulative_raw, coef, unit)
        r.reverse_kwh = meter.to_kwh(r.reverse_raw, coef, unit)
        b = self._base
        if b is not None and self.baseline is not None:
            self.period_kwh = meter.delta_kwh(r.cumulative_raw, b[3], self._digits, coef, unit)
            if 0xE4 in self._hist_epcs:
                self.period_reverse_kwh = meter.delta_kwh(r.reverse_raw, b[4], self._digits, coef, unit)

    # ---- billing period baseline and today's history ---------------------
    def _check_period(self, now):
        """Start the baseline fetch when the period started or once a day."""
        if self._wall is None or self._reading_day is None or not self._info_ok:
            return
        w = self._wall()
        if w is None:
            return
        y, m, d, hh, mm, _ = billing.local_date(w, self._utc)
        rd = self._reading_day
        sy, sm, sd = billing.billing_period_start(rd, y, m, d)
        b = self._base
        if b is not None and b[0] == sy and b[1] == sm and b[2] == sd:
            if self.baseline is None:
                self.baseline = (sy, sm, sd)
                self._kwh()
            if b[5] == y and b[6] == m and b[7] == d:
                return  # fetched today
        elif self.baseline is not None:
            self.baseline = None  # a new period: old figures no longer apply
            self.period_kwh = None
            self.period_reverse_kwh = None
        if (hh == 23 and mm >= 55) or (hh == 0 and mm < 5):
            return  # around midnight the meter's day may differ from ours
        if self._base_retry is not None and ticks_diff(self._base_retry, now) > 0:
            return
        self._base_retry = None
        self._hist_date = (y, m, d, sy, sm, sd)
        self._history(_BASE, billing.days_since_period_start(rd, y, m, d))

    def _history(self, why, day):
        self._hist_for = why
        self._hist_day = day
        self._request(_SETDAY, echonet.build_setc(0, [(0xE5, bytes((day,)))]))

    # ---- when to wake up -------------------------------------------------
    def _plan(self):
        now = self._now
        if self._task is not None:
            self._wake = self._until
            return
        st = self.state
        w = ticks_add(now, 1000)
        if self._cmd_until is not None:
            w = _sooner(w, self._cmd_until)
        elif st == "reauth" or st == "paused":
            w = _sooner(w, self._hold_until)
        elif st == "ready":
            if self._infc or self._resend or self._resp is not None or self._hist_next:
                w = now
            elif self._req:
                w = _sooner(w, self._req_until)
            elif not self._info_ok:
                w = now
            else:
                w = _sooner(w, self._next_read)
                w = _sooner(w, self._base_next)
                if self._today_wanted:
                    w = now if self._today_t is None else _sooner(w, ticks_add(self._today_t, _TODAY_MS))
        self._wake = w


def _sooner(a, b):
    return b if ticks_diff(b, a) < 0 else a

