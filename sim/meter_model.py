"""A low-voltage smart meter (ECHONET Lite class 0x0288) for the simulator.

MeterModel(start_unix, seed=1, ...) is deterministic from its seed:
- power: a household load curve over the local day (W, 1-minute steps,
  day-to-day variation, appliance spikes), minus optional solar
  generation (negative power = export);
- counters: cumulative normal (import) and reverse (export) energy are the
  exact integrals of that power over (simulated) time, as raw counts in
  units of coefficient x E1 unit, wrapping at 10**digits (D7);
- history (E2/E4) for 100 days, 48 half-hour values a day, with "no data"
  for the future slots of today; EA/EB fixed-time values at :00/:30.
handle(frame, t) answers an ECHONET Lite request like a meter does.
Times are meter time in Unix seconds (float); the meter has its own clock.
Independent of lib/ on purpose: it checks the driver, it does not mirror it.
"""

import math
import struct

from billing import civil_from_days  # lib/: the same calendar as the app

NODE_PROFILE = b"\x0e\xf0\x01"
METER = b"\x02\x88\x01"
NO_DATA_U32 = 0xFFFFFFFE

_UNIT_KWH = {0x00: 1.0, 0x01: 0.1, 0x02: 0.01, 0x03: 0.001, 0x04: 0.0001}
_UNIT_KWH.update({0x0A: 10.0, 0x0B: 100.0, 0x0C: 1000.0, 0x0D: 10000.0})

# load profile, W at each local hour 0..24 (linear in between)
_PROFILE = (
    260, 230, 220, 215, 215, 240, 520, 1250, 1100, 650, 480, 460,
    620, 540, 430, 420, 520, 900, 1650, 1900, 1750, 1300, 820, 450, 260,
)  # fmt: skip


def _mix(x):
    """A 32-bit integer hash (deterministic, portable)."""
    x &= 0xFFFFFFFF
    x = ((x >> 16) ^ x) * 0x45D9F3B & 0xFFFFFFFF
    x = ((x >> 16) ^ x) * 0x45D9F3B & 0xFFFFFFFF
    return (x >> 16) ^ x


class MeterModel:
    """Physics and properties of one meter.

    start_unix: meter time (Unix s) when the simulation starts.
    solar: peak export-capable generation in W (0 = none).
    wires: 3 (single-phase 3-wire: R and T currents) or 2 (2-wire: T = no data).
    reverse: E3/E4/EB supported (default: when solar).
    d3: D3 coefficient supported (False = Get_SNA for D3, the driver uses 1).
    """

    def __init__(
        self,
        start_unix,
        seed=1,
        solar=0,
        wires=3,
        digits=6,
        coefficient=1,
        unit_code=0x01,
        utc_offset_s=32400,
        initial_kwh=12345.6,
        initial_reverse_kwh=321.0,
        reverse=None,
        d3=True,
        history_days=100,
    ):
        self.start_unix = start_unix
        self.seed = seed
        self.solar = solar
        self.wires = wires
        self.digits = digits
        self.coefficient = coefficient
        self.unit_code = unit_code
        self.offset_s = utc_offset_s
        self.reverse = bool(solar) if reverse is None else reverse
        self.d3 = d3
        self.history_days = history_days
        self.day = 0  # E5
        # energy in W*s; raw = ws // ws_per_count
        self.ws_per_count = int(round(_UNIT_KWH[unit_code] * 3600000)) * coefficient
        # anchor: local midnight of the start day, with the initial counters
        self._anchor_day = self._local_day(start_unix)
        self._anchor_min = self._anchor_day * 1440 - self.offset_s // 60
        self._anchor = (int(initial_kwh * 3600000), int(initial_reverse_kwh * 3600000))
        self._days = {}  # local day -> (import Ws, export Ws) of the whole day
        self._cursor = None  # (minute, import Ws, export Ws) forward cache
        self.requests = 0
        self.infc_res = 0

    # ---- physics -------------------------------------------------------
    def _local_day(self, t):
        return int((t + self.offset_s) // 86400)

    def power_at_minute(self, m):
        """Net power (W, int) during Unix minute m; negative = export."""
        lm = m + self.offset_s // 60
        tod = lm % 1440
        day = lm // 1440
        h = tod // 60
        a = _PROFILE[h]
        base = a + (_PROFILE[h + 1] - a) * (tod % 60) // 60
        dh = _mix(day * 7919 + self.seed)
        factor = 850 + dh % 300  # per mille, day-to-day
        mh = _mix(m * 31 + self.seed * 1000003)
        noise = 880 + mh % 240  # per mille, minute-to-minute
        load = base * factor // 1000 * noise // 1000
        if _mix((m // 6) * 13 + self.seed) % 17 == 0:  # an appliance for 6 min
            load += 900 + (mh >> 8) % 600
        if self.solar and 360 < tod < 1080:
            cloud = 400 + (dh >> 10) % 600  # per mille, per day
            flicker = 850 + (_mix((m // 10) + self.seed * 77) % 150)
            gen = self.solar * math.sin(math.pi * (tod - 360) / 720)
            load -= int(gen * cloud // 1000 * flicker // 1000)
        return load

    def power_w(self, t):
        return self.power_at_minute(int(t // 60))

    def current_da(self, t):
        """(R, T) in 0.1 A at 100 V; T None on a 2-wire meter. Signed (export < 0)."""
        p = self.power_w(t)
        if self.wires == 2:
            return (_round_div(p, 10), None)
        r = _round_div(p * 55, 1000)
        return (r, _round_div(p * 45, 1000))

    def _sum(self, m0, m1):
        """(import Ws, export Ws) over Unix minutes [m0, m1)."""
        imp = exp = 0
        for m in range(m0, m1):
            p = self.power_at_minute(m)
            if p >= 0:
                imp += p
            else:
                exp -= p
        return (imp * 60, exp * 60)

    def _day_total(self, d):
        v = self._days.get(d)
        if v is None:
            m0 = d * 1440 - self.offset_s // 60
            v = self._days[d] = self._sum(m0, m0 + 1440)
        return v

    def _at_minute(self, m):
        """(import Ws, export Ws) cumulative at the start of Unix minute m."""
        c = self._cursor
        if c is not None and m >= c[0] and m - c[0] < 1440:
            i, e = self._sum(c[0], m)
            self._cursor = (m, c[1] + i, c[2] + e)
            return self._cursor[1], self._cursor[2]
        imp, exp = self._anchor
        lm = m + self.offset_s // 60
        day = lm // 1440
        if day >= self._anchor_day:
            for d in range(self._anchor_day, day):
                i, e = self._day_total(d)
                imp += i
                exp += e
        else:
            for d in range(day, self._anchor_day):
                i, e = self._day_total(d)
                imp -= i
                exp -= e
        i, e = self._sum(m - lm % 1440, m)
        imp += i
        exp += e
        if c is None or m > c[0]:
            self._cursor = (m, imp, exp)
        return imp, exp

    def energy_ws(self, t):
        """(import, export) cumulative energy in W*s at meter time t (s)."""
        m = int(t // 60)
        imp, exp = self._at_minute(m)
        p = self.power_at_minute(m)
        frac = int(t - m * 60)
        if p >= 0:
            imp += p * frac
        else:
            exp -= p * frac
        return imp, exp

    def cumulative_kwh(self, t):
        """Exact (import kWh, export kWh) at t, without the counter's resolution."""
        imp, exp = self.energy_ws(t)
        return imp / 3600000.0, exp / 3600000.0

    def raw(self, t, reverse=False):
        """E0 (or E3) raw count at t: truncated to the unit, wrapped at 10**digits."""
        ws = self.energy_ws(t)[1 if reverse else 0]
        return ws // self.ws_per_count % (10**self.digits)

    def kwh_of(self, raw):
        return raw * self.coefficient * _UNIT_KWH[self.unit_code]

    def local(self, t):
        """(y, m, d, hh, mm, ss) local meter time."""
        s = int(t) + self.offset_s
        days = s // 86400
        s -= days * 86400
        y, mo, d = civil_from_days(days)
        return (y, mo, d, s // 3600, s // 60 % 60, s % 60)

    def history(self, days_ago, t, reverse=False):
        """48 raw counts (None = no data) at 00:00 ... 23:30 of the day days_ago before t."""
        day = self._local_day(t) - days_ago
        m0 = day * 1440 - self.offset_s // 60
        imp, exp = self._at_minute(m0)
        m = m0
        wrap = 10**self.digits
        out = []
        for k in range(48):
            mk = m0 + 30 * k
            if mk * 60 > t:
                out.append(None)
                continue
            i, e = self._sum(m, mk)
            imp += i
            exp += e
            m = mk
            out.append((exp if reverse else imp) // self.ws_per_count % wrap)
        return out

    def fixed(self, t, reverse=False):
        """((Y, M, D, h, m, 0), raw) at the latest :00 or :30 at or before t."""
        ts = int(t + self.offset_s) // 1800 * 1800 - self.offset_s
        y, mo, d, hh, mm, _ = self.local(ts)
        return ((y, mo, d, hh, mm, 0), self.raw(ts, reverse))

    # ---- ECHONET Lite --------------------------------------------------
    def property(self, epc, t):
        """EDT bytes of epc at meter time t, or None when not supported."""
        if epc == 0x80:
            return b"\x30"
        if epc == 0x88:
            return b"\x42"
        if epc == 0x8A:
            return b"\x00\x00\x16"
        if epc == 0xD3:
            return struct.pack(">I", self.coefficient) if self.d3 else None
        if epc == 0xD7:
            return bytes((self.digits,))
        if epc == 0xE0:
            return struct.pack(">I", self.raw(t))
        if epc == 0xE1:
            return bytes((self.unit_code,))
        if epc == 0xE5:
            return bytes((self.day,))
        if epc == 0xE7:
            return struct.pack(">i", self.power_w(t))
        if epc == 0xE8:
            r, tt = self.current_da(t)
            return struct.pack(">hH", r, 0x7FFE if tt is None else tt & 0xFFFF)
        if epc == 0xE2 or (epc == 0xE4 and self.reverse):
            vals = self.history(self.day, t, epc == 0xE4)
            b = bytearray(struct.pack(">H", self.day))
            for v in vals:
                b += struct.pack(">I", NO_DATA_U32 if v is None else v)
            return bytes(b)
        if epc == 0xEA or (epc == 0xEB and self.reverse):
            (y, mo, d, hh, mm, ss), v = self.fixed(t, epc == 0xEB)
            return struct.pack(">HBBBBBI", y, mo, d, hh, mm, ss, v)
        if self.reverse and epc == 0xE3:
            return struct.pack(">I", self.raw(t, True))
        return None

    def handle(self, data, t, tid_counter=None):
        """Answer frame (bytes) for a request frame, or None (no answer)."""
        if len(data) < 12 or data[0] != 0x10 or data[1] != 0x81:
            return None
        tid = data[2:4]
        seoj = bytes(data[4:7])
        deoj = bytes(data[7:10])
        esv = data[10]
        opc = data[11]
        props = []
        i = 12
        for _ in range(opc):
            if i + 2 > len(data):
                return None
            n = data[i + 1]
            props.append((data[i], bytes(data[i + 2 : i + 2 + n])))
            i += 2 + n
        if esv == 0x7A:  # INFC_Res
            self.infc_res += 1
            return None
        self.requests += 1
        if deoj == NODE_PROFILE or deoj == b"\x0e\xf0\x00":
            if esv != 0x62:
                return None
            out = []
            ok = True
            for epc, _ in props:
                if epc == 0xD5 or epc == 0xD6:
                    out.append((epc, b"\x01" + METER))
                else:
                    out.append((epc, b""))
                    ok = False
            return frame(tid, NODE_PROFILE, seoj, 0x72 if ok else 0x52, out)
        if deoj != METER and deoj != b"\x02\x88\x00":
            return None
        if esv == 0x62 or esv == 0x63:  # Get, INF_REQ
            out = []
            ok = True
            for epc, _ in props:
                v = self.property(epc, t)
                if v is None:
                    ok = False
                    v = b""
                out.append((epc, v))
            if esv == 0x63:
                return frame(tid, METER, seoj, 0x73 if ok else 0x53, out)
            return frame(tid, METER, seoj, 0x72 if ok else 0x52, out)
        if esv == 0x61 or esv == 0x60:  # SetC, SetI
            out = []
            ok = True
            for epc, edt in props:
                if epc == 0xE5 and len(edt) == 1 and edt[0] < self.history_days:
                    self.day = edt[0]
                    out.append((epc, b""))
                else:
                    ok = False
                    out.append((epc, edt))
            if esv == 0x60 and ok:
                return None
            return frame(tid, METER, seoj, (0x71 if ok else 0x51) if esv == 0x61 else 0x50, out)
        return None

    def push(self, t, tid, esv=0x73):
        """The EA (+EB) INF (or INFC with esv=0x74) a meter sends after :00/:30."""
        props = [(0xEA, self.property(0xEA, t))]
        if self.reverse:
            props.append((0xEB, self.property(0xEB, t)))
        return frame(struct.pack(">H", tid & 0xFFFF), METER, b"\x05\xff\x01", esv, props)


def instance_list():
    """The node profile's instance-list INF sent after a join."""
    return frame(b"\x00\x00", NODE_PROFILE, NODE_PROFILE, 0x73, [(0xD5, b"\x01" + METER)])


def frame(tid, seoj, deoj, esv, props):
    b = bytearray(b"\x10\x81")
    b += tid
    b += seoj
    b += deoj
    b.append(esv)
    b.append(len(props))
    for epc, edt in props:
        b.append(epc)
        b.append(len(edt))
        b += edt
    return bytes(b)


def _round_div(a, b):
    """a / b rounded half away from zero (ints)."""
    if a >= 0:
        return (a + b // 2) // b
    return -((-a + b // 2) // b)
