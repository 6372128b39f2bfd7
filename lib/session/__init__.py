"""B-route session driver: SK commands to a BP35A1-family module, ECHONET Lite to the meter.

Session(uart, clock, store, rbid, password, ...) never blocks: the app
calls poll() whenever it likes (at the latest after wait_ms() ms, or when
the UART has bytes) and reads state, status, reading and period_kwh.
Start-up, scan and join are a task object (lib/session/join.py, loaded
while it runs) that poll() steps; the steady state is one table of due
actions (_due) that both does the next action and says when to wake, so
the two can never disagree. It allocates little per refresh: the SKSENDTO
line lives in a preallocated buffer and only TID and length are patched.

Two requests may be in flight: a reading (or D3/E1/D7) and one step of a
history fetch (SetC E5, Get E2); a reading never waits for history. A
meter that stops answering keeps the session: the session asks more slowly
(at most every 60 s) and counts as lost only on evidence: EVENT 24 or
26-28, EVENT 29 without EVENT 25, FAIL ER10 / no EPONG to SKPING, or 30 min
without an answer. Timings and the state machine: docs/session.md.

Every wait has a deadline; there are no sleeps. Credentials are written
to the module and nowhere else: never logged, never in an exception.
What happens a few times a day is decided or computed by modules loaded
for the call (lib/lazy.py): lib/session/recover.py (PANA events, a lost
session, the start of the steady state after a join, close(), D3/E1/D7,
refused EPCs, EA/EB pushes, the debug text of a line) and
lib/session/history.py (which day to fetch, E2/E4 answers, the billing
period's baseline; kept loaded while fetches are under way).
"""

import lazy
import log
import meter
from link import sk
from meter import echonet
from ticks import ticks_add, ticks_diff

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_READ = const(1)  # the reading slot's request: a reading, or D3/E1/D7
_INFO = const(2)
_BY_READ = const(1)  # which slot the SK command in flight belongs to (0: an INFC_Res)
_BY_HIST = const(2)
_BY_PING = const(3)
_BY_TERM = const(4)

_OK = const(0)  # the kinds of link.sk.parse_line
_FAIL = const(1)
_EVENT = const(5)
_EPONG = const(8)
_ERXUDP = const(9)
_ECHO = const(10)
_UNKNOWN = const(11)

_GET_SNA = const(0x52)  # ESVs
_GET_RES = const(0x72)
_INF = const(0x73)
_INFC = const(0x74)

_JST = const(32400)  # the meter's days are Japan time, whatever the user's offset
_CMD_MS = const(3000)  # OK/FAIL of an SK command
_ANSWER_MS = const(5000)  # a meter answer (typically 0.4-1 s)
_TRIES = const(4)  # sends of a reading before the meter counts as not answering
_SEND_FAIL_MS = const(2000)  # retry this soon after EVENT 21 param 01 / FAIL
_QUIET_MS = const(10000)  # meter not answering: ask after 10 s, 20 s, 40 s, then every 60 s
_QUIET_MAX_MS = const(60000)
_PING_MS = const(10000)  # SKPING -> EPONG
_PING_EVERY_MS = const(300000)  # while the meter is not answering
_SILENT_MS = const(1800000)  # no answer this long: the session counts as lost
# EVENT 29 and 32 hold for 60 s and 65 min: lib/session/recover.py
_TODAY_MS = const(1800000)  # today's history at most this often
_CHECK_MS = const(60000)  # billing period check
_HQ = const(4)  # history days waiting at most
_TX = const(128)  # SKSENDTO buffer: header (<= 65 B) and frame (<= 20 B but an INFC_Res)
_LINE = const(1024)  # longest line: an E2+E4 answer as hex ERXUDP with RSSI and SIDE, ~940 B
_LINE_SHORT = const(384)  # the longest of every other line (a reading's answer: ~230 B)


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


class _Text:
    """A line for log.debug(text): no format arguments, so nothing is allocated while DEBUG is
    off; made text (lib/session/recover.py text()) only when a DEBUG line is written. n: its
    length; head: SKSENDTO data after head bytes (0: a received line, bytes)."""

    line = b""  # type: bytes | memoryview
    n = head = 0

    def __str__(self):  # the formatter stays loaded once DEBUG lines are written
        return lazy.load("session.recover").text(self.line, self.n, self.head)


class _Days:
    """History bookkeeping, planned by lib/session/history.py. q: the entries waiting (JST day
    numbers; -1 - days ago without a wall clock); day, jday: the fetch in flight (days ago, JST
    day); want: the entry it is for; fails: failed attempts for it; setc, get: its frames;
    next0: (JST day, E2 at its 00:00) of the latest answer; base: the entry that gives the
    baseline; base_date: (y, m, d, sy, sm, sd) of that fetch; checked: the JST day whose
    baseline is settled; retry: Unix s before which the baseline is not fetched again."""

    q = []  # type: list  # replaced by the session's own list
    day = fails = retry = 0
    jday = want = next0 = base = base_date = checked = None
    setc = get = b""


def _drop_history():
    """Free session.history's code and the calendar it imports (billing: not resident either)."""
    lazy.drop("session.history")
    lazy.drop("billing")


class Session:
    """One B-route session (see the module docstring and docs/session.md).

    uart: write/readinto/any; clock: ticks ms; store: store.Store;
    dialect: "auto" | "bp35a1" | "bp35c0"; refresh_s: s between readings;
    reading_day: meter-reading day 1..31 (None: no period figures);
    wall: callable -> Unix s or None (meter days are JST: no offset needed).

    Public for lib/session/recover.py, which makes the rare state changes (not for the app):
    set_state(); ip: the meter's IPv6 once joined; lost: sessions lost since the meter last
    answered; closing: 1 while close() waits, 2 once the module confirmed; quiet: reading
    attempts since the meter last answered, after the tries; resend: the held reading goes out
    again; hold_until: end of the EVENT 29/32 hold (ms ticks); heard: when the meter last
    answered (or the session was joined); alarm: the session counts as lost then (30 min after
    that, or no EPONG); echo_off, known: the module's echo is off, a session was joined before;
    next_read, base_next, wake: when the next reading, baseline check, poll are due; infc: the
    INFC_Res frames owed.
    """

    def __init__(
        self, uart, clock, store, rbid, password, dialect="auto", refresh_s=10, reading_day=None, wall=None
    ):
        rbid = rbid or ""
        password = password or ""
        log.secret(rbid)
        log.secret(password)
        log.secret(rbid[-8:])  # the PairID a scan prints (a shorter ID is registered already)
        self._uart = uart
        self._clock = clock
        self._store = store
        self._refresh_ms = int(refresh_s * 1000)
        self._reading_day = reading_day
        self._wall = wall
        if dialect == "auto":
            dialect = store.get("dialect") or "bp35a1"
        self._dss = dialect == "bp35c0"
        self._reader = sk.LineReader(_LINE_SHORT)  # _LINE while a history fetch runs
        self._txmv = memoryview(bytearray(_TX))
        self._txh = 0
        self._text = _Text()
        self.state = "start"
        self.status = "Starting"
        self.progress = self.history_seq = 0
        self.error = self.reading = self.period_kwh = self.period_reverse_kwh = None
        self.baseline = self.today = self.history = None
        self.fixed_normal = self.fixed_reverse = None  # latest EA / EB push: ((Y, M, D, h, m, s), kWh)
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
        self._cmd_until = None  # deadline of the SK command in flight
        self._by = 0  # what that command was (_BY_*)
        self.ip = None
        self._req = 0  # reading slot: kind in flight (0 = none)
        self._req_tid = -1
        self._req_until = self.hold_until = self.next_read = self.heard = self.alarm = now
        self._req_tries = self.quiet = self.lost = self.closing = 0
        self.resend = self.known = self.echo_off = self._today_wanted = False
        self._fetch = self._task = self._ping_next = self._today_t = self._scale = None
        self._days = _Days()
        self._days.q = []
        self._read_epcs = [0xE7, 0xE8, 0xE0, 0xE3]
        self._hist_epcs = [0xE2, 0xE4]
        # Get E7 E8 E0 E3: a constant (no frame builder in the heap; a refused EPC makes
        # lib/meter/frames.py build the next one)
        self._read_frame = b"\x10\x81\0\0\x05\xff\x01\x02\x88\x01\x62\x04\xe7\0\xe8\0\xe0\0\xe3\0"
        # _scale: (coefficient, kWh per unit, digits) once D3/E1/D7 answered in this session
        self.infc = []
        b = store.get("baseline")  # [sy, sm, sd, raw, raw_reverse, fy, fm, fd]
        self._base = b if isinstance(b, list) and len(b) == 8 and isinstance(b[3], int) else None
        self.base_next = self.wake = now
        # what the join task needs: the module, the store, these dicts and the credentials
        self._job = (uart, store, self.counters, self.info, rbid, password)
        self._connect(True, False)

    # ---- public ----------------------------------------------------------
    def poll(self):
        """Read what the UART has and advance the state machine. Never blocks."""
        now = self._now = self._clock()
        uart = self._uart
        reader = self._reader
        for _ in range(8):  # bounded work per poll
            if not uart.any():
                break
            reader.readfrom(uart)  # straight into the line buffer
            while True:
                line = reader.next_line()
                if line is None:
                    break
                self._on_line(line)
        self._text.line = b""  # the last line read is not kept alive for the log (up to 1 KB)
        t = self._today_t  # expire stamps while they are young: ticks_diff wraps after 6.2 days
        if t is not None and ticks_diff(now, t) >= _TODAY_MS:
            self._today_t = None
        task = self._task
        if task is None:
            self.wake = self._due(now, True)
        elif task.step(now):  # joined: the steady state starts
            self._drop()
            self.ip = task.ip
            self._set_dss(task.dss)
            self._scale = None
            lazy.call("session.recover", "joined", self, now, task, self._refresh_ms)
        else:
            self.set_state(task.state, task.status, task.progress)
            self.error = task.error
            self.wake = task.wake

    def wait_ms(self):
        """How long the caller may sleep before the next poll (0..1000 ms).

        Bytes arriving on the UART earlier should wake the caller too
        (select.poll on the UART, or a short sleep).
        """
        if self._uart.any():
            return 0
        d = ticks_diff(self.wake, self._clock())
        return 0 if d < 0 else 1000 if d > 1000 else d

    def request_today(self):
        """Keep `today` (today's half hours) fresh: fetched now, then at most every 30 min."""
        self._today_wanted = True

    def request_history(self, days_ago):
        """Queue a fetch of the meter's 30-min history (E2) for the day days_ago (0 = today .. 99).

        When the answer is parsed, history becomes (y, m, d, wh48): the day's JST date (None
        without a wall clock) and 48 ints, the Wh used in each half hour from 00:00 (None where
        the meter has no data; today's half hour in progress counts up to the latest reading),
        and history_seq grows by one. The latest day waiting is fetched first, and the day after
        a past day first of all when its 00:00 value is not known yet (the 23:30 half hour needs
        it; that day is not handed on). A day that cannot be fetched is given up after 3
        attempts. At most 4 days wait: False when the queue is full. Readings never wait for
        history.
        """
        if not 0 <= days_ago <= 99:
            raise ValueError(days_ago)
        w = self._wall and self._wall()
        e = -1 - days_ago if w is None else (w + _JST) // 86400 - days_ago
        q = self._days.q
        if e in q:
            return True
        if len(q) >= _HQ:
            return False
        q.append(e)
        return True

    def close(self, deadline_ms=3000, idle=None):
        """End the PANA session politely (SKTERM) and wait for EVENT 27/28.

        Waits at most deadline_ms; idle(ms) is called between polls (default:
        time.sleep_ms; tests pass the virtual clock's advance). True when the
        module confirmed the end.
        """
        joined = self.ip is not None and self._task is None
        self._drop()
        if joined:
            self._now = self._clock()
            self._command(b"SKTERM", _BY_TERM, deadline_ms)
        return lazy.call("session.recover", "close", self, joined, deadline_ms, idle)

    # ---- start-up and recovery: the join task (lib/session/join.py) ------
    def _connect(self, setup, rescan):
        """Start the join task: module set-up (with setup), SKTERM, the cached PAN or a scan, SKJOIN."""
        self._drop()
        self._ping_next = self._cmd_until = self.ip = None
        t = self._task = lazy.load("session.join").Connect(
            self._job, self._dss, setup, rescan, self.lost, self.known, self.echo_off, self._now
        )
        self.set_state(t.state, t.status)

    def _drop(self):
        """No join task, no request, no history fetch: their code is freed (the qstrs stay)."""
        self._task = self._fetch = None
        self._req = 0
        for m in ("session.join", "link.sk_scan"):
            lazy.drop(m)
        _drop_history()
        self._reader.resize(_LINE_SHORT)

    def _set_dss(self, dss):
        """The dialect (BP35C0: SIDE in SKSENDTO); the SKSENDTO header once joined."""
        self._dss = dss
        self.info["dialect"] = "bp35c0" if dss else "bp35a1"
        if self._task is not None:
            self._task.dss = dss
        if self.ip is not None:  # the header in the tx buffer; the frame goes right after it
            h = ("SKSENDTO 1 %s 0E1A 1 %s0000 " % (self.ip, "0 " if dss else "")).encode()
            self._txmv[: len(h)] = h
            self._txh = len(h)

    # ---- UART lines --------------------------------------------------------
    def _on_line(self, line):
        n = len(line)
        x = self._text
        x.line = line
        x.n = n
        x.head = 0
        log.debug(x)
        # fast path, no allocation: "EVENT 21 <ipv6> [side] NN" follows every SKSENDTO
        if (n == 51 or n == 53) and line.startswith(b"EVENT 21 ") and line[n - 3] == 32:
            if n == 51 or self._dss:
                if line[n - 1] == 49 and line[n - 2] == 48 and self._task is None:
                    self._send_failed()  # param 01: the frame did not leave
                return
        try:
            t = sk.parse_line(line)  # type: tuple
        except ValueError:  # CodecError, or undecodable text
            self.counters["bad_lines"] += 1
            return
        kind = t[0]
        task = self._task
        if kind == _ERXUDP:
            self._on_udp(t[1])
        elif kind == _EVENT:
            num = t[1]
            if t[4] is not None and not self._dss:
                log.info("module prints SIDE: BP35C0 dialect")
                self._set_dss(True)
            if task is not None:
                task.event(num)  # scan done, joined, refused, old session ended
            elif num == 0x21:
                if t[3] == 1:
                    self._send_failed()
            elif 0x24 <= num <= 0x29 or num == 0x32 or num == 0x33:  # PANA session and transmit limit
                self._act("event", num)
        elif task is not None:
            task.line(t)  # OK/FAIL, EVER, EPANDESC and its fields, echo: the join task's
        elif kind == _OK or kind == _FAIL:  # the answer to the steady state's SKSENDTO, SKPING, SKTERM
            if self._cmd_until is not None:
                self._cmd_until = None
                by = self._by
                if kind == _OK:
                    return
                if by < _BY_PING:
                    self._send_failed()
                else:  # SKPING refused (FAIL ER10: no session), or SKTERM refused
                    self._act("failed", by == _BY_PING, t[1])
        elif kind == _EPONG:  # the meter answers SKPING: the session is kept
            self.alarm = ticks_add(self.heard, _SILENT_MS)
            if self.quiet:
                self._ping_next = ticks_add(self._now, _PING_EVERY_MS)
        elif kind == _ECHO:
            if self.echo_off and not self.closing:
                self.echo_off = False  # echo is back on: the module was reset
                self._act("act", (7, "the module was reset"))
        elif kind == _UNKNOWN:
            self.counters["bad_lines"] += 1

    def _act(self, func, *args):
        """A rare state change, carried out by lib/session/recover.py func(self, now, req, *args)
        (an event, a FAIL, a lost session); it may ask for a new join: (setup, rescan)."""
        c = lazy.call("session.recover", func, self, self._now, self._req, *args)
        if c is not None:
            self._connect(*c)

    def _on_udp(self, e):
        if e.lport != 0x0E1A:
            return  # PANA
        try:
            f = echonet.parse(e.data)
        except ValueError:
            self.counters["bad_lines"] += 1
            return
        h = self._reader.hex
        if h != self.info["hex"]:
            self.info["hex"] = h
        esv = f.esv
        if esv == _INFC and len(self.infc) < 4:
            self.infc.append(lazy.call("session.recover", "infc_res", f))
        mine = f.seoj == echonet.EOJ_METER
        if mine:
            tid = f.tid
            h = self._fetch
            slot = 0  # the frame carries the TID in flight: 1 of the reading, 2 of the history step
            if self._req and tid == self._req_tid:
                slot = 1
            elif h is not None and h.busy and tid == h.tid:
                slot = 2
            ip = self.ip
            if slot and ip is not None:  # from the joined meter? (IPv6, any letter case)
                sender = e.sender  # decoded only for a frame that carries our TID
                if sender != ip and sender.upper() != ip.upper():
                    slot = 0
            if slot == 1 and (esv == _GET_RES or esv == _GET_SNA):
                kind = self._req
                self._req = 0
                self.resend = False
                self.counters["answers"] += 1
                self._heard_from()
                if kind == _INFO:
                    self._scale = lazy.call("session.recover", "info", f.props)
                    self._kwh()
                    return
                r = self.reading
                if r is None:
                    r = self.reading = Reading()
                r.t = self._now
                r.tid = tid  # pyright: ignore[reportAttributeAccessIssue]
                for epc, edt in f.props:
                    if not edt:
                        frame = lazy.call("session.recover", "refused", epc, self._read_epcs, self._hist_epcs)
                        if frame is not None:
                            self._read_frame = frame
                            if 0xE4 not in self._hist_epcs:
                                self.period_reverse_kwh = None
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
                return
            if slot == 2:
                r = self.reading
                got = h.answer(f, self._now, self._scale, r and r.cumulative_raw)  # pyright: ignore[reportOptionalMemberAccess]
                if got is not None:
                    self._heard_from()
                    if got:  # (history or None, new baseline or None)
                        h, base = got
                        if 0xE4 not in self._hist_epcs:
                            self.period_reverse_kwh = None
                        if h is not None:
                            self.history = h
                            self.history_seq += 1
                            if self._days.day == 0:
                                self.today = h
                        if base is not None:
                            self._base = base
                            self.baseline = (base[0], base[1], base[2])
                            self._kwh()
                    return
        self.counters["unsolicited"] += 1
        if mine and (esv == _INF or esv == _INFC):  # EA/EB pushed after :00/:30
            lazy.call("session.recover", "pushed", self, f.props, self._scale)

    def set_state(self, state, status, progress=0):
        if status != self.status:
            log.info("%s", status)
        self.state = state
        self.status = status
        self.progress = progress

    # ---- the steady state: one table of due actions ------------------------
    def _due(self, now, run):
        """Do (with run) the first due action, in priority order; return when the next one is due.

        The same rows decide what to do and when to wake, so the two cannot disagree; at most
        one action per call, and the caller polls again at once after one (wake = now).
        """
        w = ticks_add(now, 1000)
        c = self._cmd_until
        if c is not None:  # an SK command awaits its OK/FAIL: nothing else goes out meanwhile
            if ticks_diff(c, now) > 0:
                return c
            self._cmd_until = None  # no OK/FAIL: the request's own deadline takes care of it
        st = self.state
        if st == "reauth" or st == "paused":
            t = self.hold_until
            if ticks_diff(t, now) > 0:
                return t
            if run:  # no EVENT 25 after EVENT 29: lost; EVENT 33 missed: try again
                self._act("event", 0)
            return now
        if st != "ready" and st != "quiet":
            return w
        # 1. INFC_Res owed to the meter
        if self.infc:
            if run:
                self._send(self.infc.pop(0), 0)
                self.counters["infc_res"] += 1
            return now
        # 2. the reading in flight: re-sent after a hold, or its deadline
        req = self._req
        if req:
            if self.resend:
                if run:
                    self.resend = False
                    self._timeout()
                return now
            t = self._req_until
            if ticks_diff(t, now) <= 0:
                if run:
                    self.counters["timeouts"] += 1
                    self._timeout()
                return now
            w = _sooner(w, t)
        # 3. the history step in flight: its deadline
        h = self._fetch
        if h is not None and h.busy:
            t = h.until
            if ticks_diff(t, now) <= 0:
                if run:
                    self.counters["timeouts"] += 1
                    h.timeout(now)
                return now
            w = _sooner(w, t)
        # 4. no EPONG in time, or no answer for 30 min: the session counts as lost
        t = self.alarm
        if ticks_diff(t, now) <= 0:
            if run:
                self._act("act", (1, "Meter not answering"))
            return now
        w = _sooner(w, t)
        if req:
            return w  # one reading at a time; history and pings wait for its answer
        # 5. the next reading (in the quiet state: the next attempt)
        t = self.next_read
        if ticks_diff(t, now) <= 0:
            if run:
                late = ticks_diff(now, t) >= self._refresh_ms
                self.next_read = ticks_add(now if late else t, self._refresh_ms)
                self._req = _READ
                self._req_tries = 0
                self._timeout()
            return now
        w = _sooner(w, t)
        # 6. SKPING while the meter is not answering: EPONG keeps the session, FAIL ER10 or
        # silence ends it
        t = self._ping_next
        if t is not None:
            if ticks_diff(t, now) <= 0:
                if run:
                    self._ping_next = None
                    self.alarm = _sooner(self.alarm, ticks_add(now, _PING_MS))
                    self._command(b"SKPING " + self.ip.encode(), _BY_PING)  # pyright: ignore[reportOptionalMemberAccess]
                return now
            w = _sooner(w, t)
        if st != "ready":
            return w
        # 7. D3/E1/D7 once per session
        if self._scale is None:
            if run:
                self._req = _INFO
                self._req_tries = 0
                self._timeout()
            return now
        # 8. the next history fetch, one at a time
        if h is None or not h.busy:
            if self._days.q:
                t = now if h is None else h.next
                if ticks_diff(t, now) <= 0:
                    if run:
                        if h is None:
                            self._reader.resize(_LINE)  # room for the answers
                            fetch = lazy.load("session.history").Fetch
                            h = self._fetch = fetch(
                                self._days,
                                self._send,
                                self._wall,
                                self._hist_epcs,
                                self._store,
                                self.counters,
                                now,
                            )
                        h.start(now)
                    return now
                w = _sooner(w, t)
            elif h is not None:
                self._drop()  # no day waits: the fetcher goes, and its bytecode
            # 9. today's history, at most every 30 min
            if self._today_wanted and self._today_t is None:
                if run:
                    self._today_wanted = False
                    self._today_t = now
                    self.request_history(0)
                return now
            # 10. the billing period's baseline, checked every minute
            t = self.base_next
            if ticks_diff(t, now) <= 0:
                if run:  # once a JST day (and when the period starts): is the baseline held?
                    self.base_next = ticks_add(now, _CHECK_MS)
                    d = self._days
                    w = self._wall and self._wall()
                    rd = self._reading_day
                    if w is not None and rd is not None and (w + _JST) // 86400 != d.checked and w >= d.retry:
                        r = lazy.load("session.history").period(d, self._base, w, rd)
                        if h is None:
                            _drop_history()
                        if r == ():
                            if self.baseline is not None:  # a new period: old figures no longer apply
                                self.baseline = self.period_kwh = self.period_reverse_kwh = None
                        elif r is not None and self.baseline is None:
                            self.baseline = r
                            self._kwh()
                return now
            w = _sooner(w, t)
        return w

    def _timeout(self):
        """Send the reading slot's request (again: after its deadline, or a hold), or slow down
        once its tries are spent."""
        if self._req_tries < (_TRIES if self.state == "ready" else 1):
            if self._req_tries:
                self.counters["retries"] += 1
            self._req_tries += 1
            self._req_until = ticks_add(self._now, _ANSWER_MS)
            f = self._read_frame
            if self._req == _INFO:  # Get D3 E1 D7, a constant
                f = b"\x10\x81\0\0\x05\xff\x01\x02\x88\x01\x62\x03\xd3\0\xe1\0\xd7\0"
            self._req_tid = self._send(f, _BY_READ)
            return
        self._req = 0
        q = self.quiet = self.quiet + 1
        # send to send: 10 s, 20 s, 40 s, then 60 s (this is the deadline, 5 s after the send)
        self.next_read = ticks_add(self._now, min(_QUIET_MS << min(q - 1, 3), _QUIET_MAX_MS) - _ANSWER_MS)
        if self.state == "ready":
            log.warning("no answer from the meter after %d tries", _TRIES)  # the session is kept
            self.set_state("quiet", "Meter not answering", 100)
            self.error = "Meter not answering"
            self._ping_next = self._now

    def _send(self, frame, by=_BY_HIST):
        """SKSENDTO frame in one write from the tx buffer (header, then the frame). by: the slot
        (_BY_READ, _BY_HIST: a fresh TID, counted as a request; 0: an INFC_Res, its own TID).
        The TID; -1 when it was not sent (a frame too long for the buffer)."""
        tx = self._txmv
        h = self._txh
        n = len(frame)
        if h + n > _TX:
            return -1  # an INFC_Res for 25+ EPCs: meters push EA/EB (1-2 EPCs)
        tx[h : h + n] = frame
        tid = -1
        if by:
            tid = self._tid = self._tid % 0xFFFF + 1
            self.counters["requests"] += 1
            tx[h + 2] = tid >> 8
            tx[h + 3] = tid & 0xFF
        for k in range(4):  # datalen: 4 hex digits before the space
            tx[h - 2 - k] = b"0123456789ABCDEF"[(n >> (4 * k)) & 15]
        x = self._text
        x.line = tx
        x.n = h + n
        x.head = h
        log.debug(x)
        self._by = by
        self._cmd_until = ticks_add(self._now, _CMD_MS)
        self._uart.write(tx[: h + n])
        return tid

    def _command(self, text, by, ms=_CMD_MS):
        """One SK command line in the steady state (SKPING, SKTERM)."""
        log.debug("> %s", text.decode())
        self._by = by
        self._cmd_until = ticks_add(self._now, ms)
        self._uart.write(text + b"\r\n")

    def _send_failed(self):
        """EVENT 21 param 01 or FAIL: the frame did not leave; retry soon (the send was a try)."""
        by = self._by
        soon = ticks_add(self._now, _SEND_FAIL_MS)
        h = self._fetch
        if by == _BY_READ and self._req:
            self.counters["send_failures"] += 1
            if ticks_diff(self._req_until, soon) > 0:
                self._req_until = soon
        elif by == _BY_HIST and h is not None and h.busy:
            self.counters["send_failures"] += 1
            if ticks_diff(h.until, soon) > 0:
                h.until = soon

    def _heard_from(self):
        """The meter answered: the session is alive."""
        now = self.heard = self._now
        self.alarm = ticks_add(now, _SILENT_MS)
        self.lost = 0
        if self.quiet:
            self.quiet = 0
            self._ping_next = None
            if self.state == "quiet":
                self.set_state("ready", "Connected", 100)
                self.error = None

    def _kwh(self):
        r = self.reading
        s = self._scale
        if r is None or s is None:
            return
        coef, unit, digits = s
        r.cumulative_kwh = meter.to_kwh(r.cumulative_raw, coef, unit)
        r.reverse_kwh = meter.to_kwh(r.reverse_raw, coef, unit)
        b = self._base
        if b is not None and self.baseline is not None:
            self.period_kwh = meter.delta_kwh(r.cumulative_raw, b[3], digits, coef, unit)
            if 0xE4 in self._hist_epcs:
                self.period_reverse_kwh = meter.delta_kwh(r.reverse_raw, b[4], digits, coef, unit)


def _sooner(a, b):
    return b if ticks_diff(b, a) < 0 else a
