"""A BP35A1-family Wi-SUN module + smart meter, speaking SK commands.

Module(clock, meter, dialect="bp35a1") simulates the module on a virtual
clock; module.uart (SimUart: write/readinto/any/read) is what a driver
talks to. Every answer is scheduled at a virtual time (command latency,
scan durations, the PANA exchange, the meter's answer latency, UART
transfer time), so a driver that waits with deadlines sees realistic
timing and a simulated day runs in seconds.

Dialects: "bp35a1" (and "rl7023": hex only, ROPT/WOPT -> FAIL ER04) take
no SIDE; "bp35c0" (BP35C0/C2, RL7023 DSS) takes the SIDE argument in
SKSCAN/SKSENDTO and prints SIDE in EVENT, EPANDESC and ERXUDP.

Faults (module.faults, see Faults) and triggers (expire_session,
peer_terminate, tx_limit, power_cycle, silence, away, joined_before) inject
what goes wrong on a real B-route. stats counts what happened (flash
writes, scans, requests ...).

Like a real module, it refuses SKJOIN with FAIL ER10 while it holds a PANA
session (refuse_join=False lets a join replace it), SKTERM answers FAIL ER10
when there is none, and SKRESET drops it.
"""

import binascii

import meter_model

DEFAULT_ID = "00112233445566778899AABBCCDDEEFF"
DEFAULT_PASSWORD = "0123456789AB"
METER_MAC = "001C640003DD6393"
MODULE_MAC = "001D129000035A1F"
MULTICAST = "FF02:0000:0000:0000:0000:0000:0000:0001"
ECHONET_PORT = 0x0E1A
PANA_PORT = 0x02CC
_BYTES_PER_S = 11520  # 115200 8N1


def ll64(mac):
    """IPv6 link-local address of a 16-hex-digit MAC (U/L bit flipped)."""
    b = bytearray(binascii.unhexlify(mac))
    b[0] ^= 0x02
    h = binascii.hexlify(b).decode().upper()
    return "FE80:0000:0000:0000:" + ":".join(h[i : i + 4] for i in range(0, 16, 4))


def scan_ms(duration):
    """How long SKSCAN takes for a duration code: 28 channels x 9.6 ms x (2**d + 1)."""
    return int(28 * 9.6 * ((1 << duration) + 1))


def _in(window, now):
    return window is None or window[0] <= now < window[1]


def _on(window, now):
    """True inside window (start_ms, end_ms); None = never."""
    return window is not None and window[0] <= now < window[1]


class Faults:
    """Fault-injection switches; windows are (start_ms, end_ms) of clock.now_ms, None = always."""

    def __init__(self):
        self.drop_prob = 0.0  # meter answers lost with this probability ...
        self.drop_every = 0  # ... or every Nth answer
        self.drop_window = None
        self.delay_ms = 0  # extra meter answer latency
        self.delay_window = None
        self.garbage_prob = 0.0  # a line of junk bytes before an output line
        self.split_prob = 0.0  # an output line delivered in pieces
        self.io_window = None
        self.join_failures = 0  # the next N joins end with EVENT 24
        self.scan_misses = 0  # the next N scans find nothing
        self.wopt_fail = False  # WOPT answers FAIL ER10 (the module stays binary)
        self.reauth_fail = False  # re-authentication after EVENT 29 ends with EVENT 24
        self.lifetime_ms = None  # PANA session lifetime: EVENT 29 this long after each join
        self.expire_each_request = False  # every request ends the session's lifetime (EVENT 29, no answer)
        self.drop_epcs = ()  # answers to requests asking for any of these EPCs are lost
        # windows below: None = never
        self.silent = None  # type: tuple | None  # no ECHONET answer or push (pings still answer)
        self.away = None  # type: tuple | None  # out of reach: no answer, no EPONG, joins fail, SKTERM -> EVENT 28


class SimUart:
    """The driver's end of the module's UART (never blocks)."""

    def __init__(self, module):
        self._m = module

    def write(self, buf):
        self._m.receive(bytes(buf))
        return len(buf)

    def any(self):
        self._m.update()
        return self._m.available()

    def readinto(self, buf, nbytes=None):
        self._m.update()
        n = self._m.read_into(buf, len(buf) if nbytes is None else nbytes)
        return n or None

    def read(self, n=-1):
        self._m.update()
        k = self._m.available()
        if n >= 0:
            k = min(k, n)
        if not k:
            return None
        buf = bytearray(k)
        self._m.read_into(buf, k)
        return bytes(buf)


class Module:
    def __init__(
        self,
        clock,
        meter,
        dialect="bp35a1",
        rbid=DEFAULT_ID,
        password=DEFAULT_PASSWORD,
        binary=None,
        seed=1,
        latency_ms=1000,
        channel=0x2F,
        pan_id=0xA0E6,
        mac=METER_MAC,
        scan_min_duration=4,
        join_ms=4000,
        rssi=False,
        push_esv=0x73,
        lqi=0x84,
        ropt=None,
        refuse_join=True,
    ):
        self.clock = clock
        self.meter = meter
        self.dialect = dialect
        self.dss = dialect in ("bp35c0", "bp35c2", "rl7023dss")
        # ropt=False: a module without ROPT/WOPT (FAIL ER04)
        self.has_ropt = (dialect != "rl7023") if ropt is None else ropt
        self.refuse_join = refuse_join
        # BP35A1 ships in binary mode; RL7023 IPS is hex only
        self.binary = (dialect != "rl7023") if binary is None else binary
        self.rbid = rbid
        self.password = password
        self.latency_ms = latency_ms
        self.channel = channel
        self.pan_id = pan_id
        self.mac = mac
        self.meter_ip = ll64(mac)
        self.my_ip = ll64(MODULE_MAC)
        self.scan_min_duration = scan_min_duration
        self.join_ms = join_ms
        self.rssi = rssi
        self.push_esv = push_esv
        self.lqi = lqi
        self.faults = Faults()
        self.uart = SimUart(self)
        self.stats = {
            "commands": 0,
            "sendto": 0,
            "answers": 0,
            "dropped": 0,
            "scans": [],
            "joins": 0,
            "joined": 0,
            "join_failures": 0,
            "flash_writes": 0,
            "garbage": 0,
            "splits": 0,
            "pushes": 0,
            "reauths": 0,
            "failed_sends": 0,
            "refused_joins": 0,
            "terms": 0,
            "resets": 0,
            "pings": 0,
        }
        self.requests = []  # recent ECHONET requests: (now_ms, tid, esv, epcs bytes, meter time s)
        self.esv_counts = {}  # ESV -> requests received with it
        self.epc_counts = {}  # (ESV, EPC) -> requests received asking for it
        self.lines = []  # recent command lines (for tests), credentials included: test-side only
        self._r = (seed * 2654435761 + 12345) & 0xFFFFFFFF or 1
        self._timers = []  # [due, seq, fn, arg, epoch]
        self._seq = 0
        self._out = []  # [available_ms, bytes] in order
        self._off = 0  # bytes of _out[0] already read
        self._tx_free = 0
        self._in = b""
        self._t = clock.now_ms  # time of the event being processed
        self._tid = 0x100
        self._answers = 0
        self._epoch = 0
        self._reset()
        self._arm_push()

    # ---- plumbing --------------------------------------------------------
    def _rand(self):
        x = self._r
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self._r = x
        return x / 4294967296.0

    def meter_time(self, ms=None):
        """Meter time (Unix s, float) at clock time ms (default: the event being processed)."""
        return self.meter.start_unix + (self._t if ms is None else ms) / 1000.0

    def _reset(self):
        """Volatile state after power-up or SKRESET (flash: the WOPT mode survives)."""
        self._epoch += 1
        self.echo = True
        self.regs = {"S2": 0x21, "S3": 0xFFFF, "SFE": 1, "SA2": 0}
        self.rbid_set = None
        self.pwd_set = None
        self.session = None  # None | "joining" | "up" | "reauth"
        self.scanning = False
        self.tx_limited = False
        self._join_id = 0

    def power_cycle(self):
        """Cut the module's power: volatile state, pending output and timers are lost."""
        self._t = self.clock.now_ms
        self._reset()
        self._timers = [t for t in self._timers if t[4] is None]
        self._out = []
        self._off = 0
        self._in = b""

    def _at(self, delay, fn, arg=None):
        due = self._t + int(delay)
        self._seq += 1
        item = [due, self._seq, fn, arg, self._epoch]
        i = len(self._timers)
        while i and (self._timers[i - 1][0], self._timers[i - 1][1]) > (due, self._seq):
            i -= 1
        self._timers.insert(i, item)

    def _say(self, delay, data):
        """Print data (str or bytes; CRLF added) after delay ms."""
        if isinstance(data, str):
            data = data.encode()
        self._at(delay, self._emit, data + b"\r\n")

    def _emit(self, data):
        start = max(self._t, self._tx_free)
        f = self.faults
        if _in(f.io_window, self._t):
            if f.garbage_prob and self._rand() < f.garbage_prob:
                self.stats["garbage"] += 1
                junk = bytearray()
                for _ in range(1 + int(self._rand() * 12)):
                    junk.append(b"\x00\xff\x80\xfe\x1bA#z~ 7"[int(self._rand() * 11)])
                start = self._queue(start, bytes(junk) + b"\r\n")
            if f.split_prob and len(data) > 2 and self._rand() < f.split_prob:
                self.stats["splits"] += 1
                cut = 1 + int(self._rand() * (len(data) - 1))
                start = self._queue(start, data[:cut])
                start += 1 + int(self._rand() * 8)
                data = data[cut:]
        self._tx_free = self._queue(start, data)

    def _queue(self, start, data):
        done = start + (len(data) * 1000 + _BYTES_PER_S - 1) // _BYTES_PER_S
        self._out.append([done, data])
        return done

    def update(self):
        """Run everything due up to clock.now_ms."""
        now = self.clock.now_ms
        while self._timers and self._timers[0][0] <= now:
            due, _, fn, arg, epoch = self._timers.pop(0)
            if epoch is not None and epoch != self._epoch:
                continue
            self._t = due
            fn(arg)
        self._t = now

    def next_event_ms(self):
        """Absolute clock time of the next thing the module will do, or None."""
        now = self.clock.now_ms
        best = self._timers[0][0] if self._timers else None
        for avail, _ in self._out:
            if avail > now:
                if best is None or avail < best:
                    best = avail
                break
        return best

    def available(self):
        now = self.clock.now_ms
        n = 0
        for avail, data in self._out:
            if avail > now:
                break
            n += len(data)
        return n - self._off if n else 0

    def read_into(self, buf, limit):
        now = self.clock.now_ms
        n = 0
        while n < limit and self._out and self._out[0][0] <= now:
            data = self._out[0][1]
            k = min(limit - n, len(data) - self._off)
            buf[n : n + k] = data[self._off : self._off + k]
            n += k
            self._off += k
            if self._off == len(data):
                self._out.pop(0)
                self._off = 0
        return n

    # ---- input -----------------------------------------------------------
    def receive(self, data):
        """Bytes written by the driver, processed at clock.now_ms."""
        self._t = self.clock.now_ms
        self.update()
        self._in += data
        while self._in:
            if self._in.startswith(b"SKSENDTO "):
                if not self._take_sendto():
                    break
                continue
            i = self._in.find(b"\n")
            if i < 0:
                if len(self._in) > 2000:  # no line end: the module drops it
                    self._in = b""
                break
            line = self._in[:i].rstrip(b"\r")
            self._in = self._in[i + 1 :]
            self._line(line)

    def _take_sendto(self):
        """Consume one SKSENDTO with its raw data; False while incomplete."""
        ntok = 7 if self.dss else 6  # SKSENDTO handle ip port sec [side] len
        pos = 0
        for _ in range(ntok):
            sp = self._in.find(b" ", pos)
            nl = self._in.find(b"\n", pos)
            if 0 <= nl < (sp if sp >= 0 else nl + 1):  # a line end in the header
                line = self._in[:nl].rstrip(b"\r")
                self._in = self._in[nl + 1 :]
                self._echo(line)
                self._fail("ER05")
                return True
            if sp < 0:
                return False
            pos = sp + 1
        head = self._in[: pos - 1]
        toks = head.split(b" ")
        try:
            n = int(toks[-1], 16)
        except ValueError:
            self._in = self._in[pos:]
            self._echo(head)
            self._fail("ER06")
            return True
        if len(self._in) < pos + n:
            return False
        data = self._in[pos : pos + n]
        self._in = self._in[pos + n :]
        self._echo(head)
        self.stats["commands"] += 1
        self._remember(head)
        self._sendto(toks, data)
        return True

    def _remember(self, line):
        self.lines.append(line)
        if len(self.lines) > 200:
            self.lines.pop(0)

    def _echo(self, line):
        if self.echo:
            self._say(0, line)

    def _ok(self, arg=None, delay=2):
        self._say(delay, "OK" if arg is None else "OK " + arg)

    def _fail(self, code, delay=2):
        self._say(delay, "FAIL " + code)

    def _event(self, num, param=None, delay=0, sender=None):
        s = "EVENT %02X %s" % (num, sender or self.meter_ip)
        if self.dss:
            s += " 0"
        if param is not None:
            s += " %02X" % param
        self._say(delay, s)

    def _line(self, line):
        if not line.strip():
            return
        self._echo(line)
        self._remember(line)
        self.stats["commands"] += 1
        toks = line.split()
        try:
            cmd = toks[0].decode()
        except UnicodeError:
            cmd = ""
        handler = getattr(self, "_cmd_" + cmd, None)
        if handler is None:
            self._fail("ER04")
            return
        try:
            handler(toks[1:])
        except (ValueError, IndexError):
            self._fail("ER06")

    # ---- SK commands -----------------------------------------------------
    def _cmd_SKVER(self, args):
        v = {"bp35a1": "1.2.10", "rl7023": "1.2.8"}.get(self.dialect, "1.5.2")
        self._say(2, "EVER " + v)
        self._ok(delay=3)

    def _cmd_SKRESET(self, args):
        self.stats["resets"] += 1
        self._reset()
        self._ok()

    def _cmd_SKINFO(self, args):
        self._say(
            2, "EINFO %s %s %02X %04X FFFE" % (self.my_ip, MODULE_MAC, self.regs["S2"], self.regs["S3"])
        )
        self._ok(delay=3)

    def _cmd_SKSREG(self, args):
        if not args or len(args) > 2:
            return self._fail("ER05")
        reg = args[0].decode()
        if len(args) == 1:
            if reg not in self.regs:
                return self._fail("ER06")
            fmt = "ESREG %04X" if reg == "S3" else "ESREG %02X" if reg == "S2" else "ESREG %X"
            self._say(2, fmt % self.regs[reg])
            return self._ok(delay=3)
        val = int(args[1], 16)
        if reg == "SFE":
            self.echo = bool(val)
        elif reg == "S2" and not 0x21 <= val <= 0x3C:
            return self._fail("ER06")
        self.regs[reg] = val
        self._ok()

    def _cmd_SKSETPWD(self, args):
        if len(args) != 2:
            return self._fail("ER05")
        n = int(args[0], 16)
        if not 1 <= n <= 32 or len(args[1]) != n:
            return self._fail("ER06")
        self.pwd_set = args[1].decode()
        self._ok()

    def _cmd_SKSETRBID(self, args):
        if len(args) != 1:
            return self._fail("ER05")
        if len(args[0]) != 32:
            return self._fail("ER06")
        self.rbid_set = args[0].decode()
        self._ok()

    def _cmd_ROPT(self, args):
        if not self.has_ropt:
            return self._fail("ER04")
        self._ok("00" if self.binary else "01")

    def _cmd_WOPT(self, args):
        if not self.has_ropt:
            return self._fail("ER04")
        if len(args) != 1:
            return self._fail("ER05")
        if self.faults.wopt_fail:
            return self._fail("ER10")
        self.stats["flash_writes"] += 1
        self.binary = int(args[0], 16) == 0
        self._ok(delay=20)

    def _cmd_SKLL64(self, args):
        if len(args) != 1 or len(args[0]) != 16:
            return self._fail("ER06")
        self._say(2, ll64(args[0].decode()))

    def _cmd_SKSCAN(self, args):
        if len(args) != (4 if self.dss else 3):
            return self._fail("ER05")
        mode = int(args[0], 16)
        dur = int(args[2], 16)
        if mode not in (0, 1, 2, 3) or not 0 <= dur <= 14:
            return self._fail("ER06")
        if self.scanning:
            return self._fail("ER10")
        self.scanning = True
        self.stats["scans"].append(dur)
        self._ok()
        total = scan_ms(dur)
        found = self.rbid_set == self.rbid and dur >= self.scan_min_duration
        found = found and not _on(self.faults.away, self._t)
        if self.faults.scan_misses > 0:
            self.faults.scan_misses -= 1
            found = False
        if found and mode == 2:
            at = total * (self.channel - 0x21) // 28 + total // 56
            self._event(0x20, delay=at, sender=self.my_ip)
            self._say(at, "EPANDESC")
            fields = [
                ("Channel", "%02X" % self.channel),
                ("Channel Page", "09"),
                ("Pan ID", "%04X" % self.pan_id),
                ("Addr", self.mac),
                ("LQI", "%02X" % self.lqi),
            ]
            if self.dss:
                fields.append(("Side", "0"))
            fields.append(("PairID", self.rbid[-8:]))
            for k, v in fields:
                self._say(at, "  %s:%s" % (k, v))
        self._at(total, self._scan_end)

    def _scan_end(self, _):
        self.scanning = False
        self._event(0x22, sender=self.my_ip)

    def _cmd_SKJOIN(self, args):
        if len(args) != 1:
            return self._fail("ER05")
        if self.scanning:
            return self._fail("ER10")
        if self.session is not None and self.refuse_join:
            self.stats["refused_joins"] += 1
            return self._fail("ER10")  # a PANA session is open (or closing): SKTERM it first
        ip = args[0].decode().upper()
        self._ok()
        self.stats["joins"] += 1
        self._join_id += 1
        jid = self._join_id
        self.session = "joining"
        self.tx_limited = False
        reach = ip == self.meter_ip and self.regs["S2"] == self.channel and self.regs["S3"] == self.pan_id
        reach = reach and not _on(self.faults.away, self._t)
        ok = reach and self.rbid_set == self.rbid and self.pwd_set == self.password
        if self.faults.join_failures > 0:
            self.faults.join_failures -= 1
            ok = False
        self._event(0x21, 0x02, delay=40)
        if not reach:
            self._at(12000, self._join_end, (jid, False))
            return
        self._pana(self.join_ms, 4 if ok else 2)
        self._at(self.join_ms, self._join_end, (jid, ok))

    def _pana(self, total, frames):
        """The PANA exchange the module prints while it authenticates."""
        self._event(0x02, delay=total // 20)
        for k in range(frames):
            at = total * (k + 1) // (frames + 1)
            size = (40, 104, 84, 88)[k % 4]
            data = bytes(int(self._rand() * 256) for _ in range(size))
            self._at(at, self._emit, self._erxudp(data, PANA_PORT, 0, self.my_ip))
            self._event(0x21, 0x00, delay=at + 60)

    def _join_end(self, arg):
        jid, ok = arg
        if jid != self._join_id or self.session != "joining":
            return
        if ok:
            self.session = "up"
            self.stats["joined"] += 1
            self._event(0x25)
            self._at(1500, self._send_instance_list, jid)
            self._arm_lifetime()
        else:
            self.session = None
            self.stats["join_failures"] += 1
            self._event(0x24)

    def _arm_lifetime(self):
        if self.faults.lifetime_ms:
            self._at(self.faults.lifetime_ms, self._lifetime_end, self._join_id)

    def _lifetime_end(self, jid):
        if jid == self._join_id and self.session == "up":
            self.expire_session()

    def _send_instance_list(self, jid):
        if jid == self._join_id and self.session == "up":
            self._emit(self._erxudp(meter_model.instance_list(), dest=MULTICAST))

    def _cmd_SKSENDTO(self, args):  # a SKSENDTO line without data (CRLF in the header)
        self._fail("ER05")

    def _sendto(self, toks, data):
        self.stats["sendto"] += 1
        try:
            ip = toks[2].decode().upper()
            port = int(toks[3], 16)
            sec = int(toks[4], 16)
            if self.dss and toks[5] not in (b"0", b"1"):
                raise ValueError
        except (ValueError, IndexError, UnicodeError):
            return self._fail("ER06")
        if self.scanning or self.session in (None, "joining", "closing"):
            return self._fail("ER10")
        if self.session == "reauth" or self.tx_limited:
            self.stats["failed_sends"] += 1
            self._event(0x21, 0x01, delay=30)
            return self._ok(delay=35)
        self._event(0x21, 0x00, delay=30)
        self._ok(delay=35)
        if port != ECHONET_PORT or sec != 1 or (ip != self.meter_ip and ip != MULTICAST):
            return
        t = self.meter_time()
        if len(data) >= 12:
            epcs = bytearray()
            i = 12
            while i + 1 < len(data) and len(epcs) < data[11]:
                epcs.append(data[i])
                i += 2 + data[i + 1]
            self.requests.append((self._t, (data[2] << 8) | data[3], data[10], bytes(epcs), t))
            self.esv_counts[data[10]] = self.esv_counts.get(data[10], 0) + 1
            for e in epcs:
                k = (data[10], e)
                self.epc_counts[k] = self.epc_counts.get(k, 0) + 1
            if len(self.requests) > 64:
                self.requests.pop(0)
        answer = self.meter.handle(data, t)
        if answer is None:
            return
        f = self.faults
        if f.expire_each_request and ip == self.meter_ip:
            self._at(40, self._expire)
            return
        if _on(f.silent, self._t) or _on(f.away, self._t) or (len(data) > 12 and data[12] in f.drop_epcs):
            self.stats["dropped"] += 1
            return
        self._answers += 1
        if _in(f.drop_window, self._t) and (
            (f.drop_every and self._answers % f.drop_every == 0)
            or (f.drop_prob and self._rand() < f.drop_prob)
        ):
            self.stats["dropped"] += 1
            return
        delay = self.latency_ms
        if f.delay_ms and _in(f.delay_window, self._t):
            delay += f.delay_ms
        self.stats["answers"] += 1
        self._at(delay, self._answer, (self._join_id, answer))

    def _answer(self, arg):
        jid, answer = arg
        if jid == self._join_id and self.session == "up":
            self._emit(self._erxudp(answer))

    def _cmd_SKTERM(self, args):
        if self.session not in ("up", "reauth"):
            return self._fail("ER10")
        self.stats["terms"] += 1
        self._ok()
        self._join_id += 1
        self.session = "closing"  # until EVENT 27/28: SKJOIN is still refused
        if _on(self.faults.away, self._t):
            self._at(5000, self._term_end, (self._join_id, 0x28))  # the meter never confirms
        else:
            self._at(600, self._term_end, (self._join_id, 0x27))

    def _term_end(self, arg):
        jid, num = arg
        if jid == self._join_id and self.session == "closing":
            self.session = None
            self._event(num)

    def _cmd_SKPING(self, args):
        if len(args) != 1:
            return self._fail("ER05")
        if self.session != "up":
            return self._fail("ER10")
        self.stats["pings"] += 1
        self._ok()
        if not self.tx_limited and not _on(self.faults.away, self._t):
            self._say(300, "EPONG " + args[0].decode())

    def _erxudp(self, data, port=ECHONET_PORT, secured=1, dest=None):
        """An ERXUDP line (bytes, CRLF) from the meter in the current output mode."""
        head = "ERXUDP %s %s %04X %04X %s" % (self.meter_ip, dest or self.my_ip, port, port, self.mac)
        if self.dss:
            if self.rssi:
                head += " BA"
            head += " %d 0" % secured
        else:
            head += " %d" % secured
        head += " %04X " % len(data)
        if self.binary:
            return head.encode() + data + b"\r\n"
        return head.encode() + binascii.hexlify(data).upper() + b"\r\n"

    # ---- meter pushes and triggers ---------------------------------------
    def _arm_push(self):
        """The next EA/EB push: after the next :00 or :30 of meter time, up to 5 min late."""
        t = self.meter_time()
        slot = int(t // 1800) + 1
        late = meter_model._mix(slot * 3 + self.meter.seed) % 300
        at = (slot * 1800 + late - self.meter.start_unix) * 1000
        self._seq += 1
        item = [int(at), self._seq, self._push, None, None]  # survives power cycles
        i = len(self._timers)
        while i and self._timers[i - 1][0] > item[0]:
            i -= 1
        self._timers.insert(i, item)

    def _push(self, _):
        quiet = _on(self.faults.silent, self._t) or _on(self.faults.away, self._t)
        if self.session == "up" and not self.tx_limited and not quiet:
            self.stats["pushes"] += 1
            self._tid = (self._tid + 1) & 0xFFFF
            frame = self.meter.push(self.meter_time(), self._tid, self.push_esv)
            self._emit(self._erxudp(frame))
        self._arm_push()

    def expire_session(self):
        """EVENT 29 (PANA lifetime over), then the module's own re-authentication."""
        self._t = self.clock.now_ms
        self._expire()

    def _expire(self, _=None):
        if self.session != "up":
            return
        self.session = "reauth"
        self.stats["reauths"] += 1
        self._event(0x29)
        self._pana(3000, 4)
        self._at(3000, self._reauth_end, self._join_id)

    def _reauth_end(self, jid):
        if jid != self._join_id or self.session != "reauth":
            return
        if self.faults.reauth_fail:
            self.session = None
            self._event(0x24)
        else:
            self.session = "up"
            self._event(0x25)
            self._arm_lifetime()

    def peer_terminate(self):
        """The meter ends the session: EVENT 26, then EVENT 27."""
        self._t = self.clock.now_ms
        if self.session is None:
            return
        self._join_id += 1
        self.session = None
        self._event(0x26)
        self._event(0x27, delay=500)

    def silence(self, ms):
        """From now on for ms the meter answers no ECHONET request (the module keeps its session)."""
        self.faults.silent = (self.clock.now_ms, self.clock.now_ms + ms)

    def away(self, ms):
        """From now on for ms the meter is out of radio reach (no answers, pings or joins)."""
        self.faults.away = (self.clock.now_ms, self.clock.now_ms + ms)

    def joined_before(self):
        """The state an earlier run left (the HAT kept power across an ESP32 reset): echo off,
        credentials, channel and PAN ID set, ERXUDP in hex (WOPT 01 done), a PANA session up."""
        self._t = self.clock.now_ms
        self._reset()
        self.echo = False
        self.regs["SFE"] = 0
        self.regs["S2"] = self.channel
        self.regs["S3"] = self.pan_id
        self.rbid_set = self.rbid
        self.pwd_set = self.password
        self.binary = False
        self._join_id += 1
        self.session = "up"
        self._arm_lifetime()

    def joining_before(self):
        """An earlier run left the module in a join that never ends (SKTERM: FAIL ER10, SKJOIN:
        FAIL ER10) until SKRESET; credentials and echo as after joined_before()."""
        self.joined_before()
        self.session = "joining"

    def tx_limit(self, duration_ms):
        """The transmit-time limit: EVENT 32 now, EVENT 33 after duration_ms."""
        self._t = self.clock.now_ms
        self.tx_limited = True
        self._event(0x32)
        self._at(duration_ms, self._tx_release, self._epoch)

    def _tx_release(self, _):
        self.tx_limited = False
        self._event(0x33)
