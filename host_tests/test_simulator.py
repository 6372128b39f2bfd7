"""The BP35A1 + smart meter simulator on its own: SK commands, timing, meter physics, faults, pty."""

import binascii
import os
import struct
import subprocess
import sys

import bp35a1
import clock
import harness
import meter_model
import pytest

START = harness.DEFAULT_START  # 2024-11-22 10:00 JST
ID = bp35a1.DEFAULT_ID
PWD = bp35a1.DEFAULT_PASSWORD


def make(dialect="bp35a1", meter_kw=None, **kw):
    clk = clock.VirtualClock(wall=START)
    m = meter_model.MeterModel(START, **(meter_kw or {}))
    return bp35a1.Module(clk, m, dialect=dialect, **kw)


def pump(mod, ms):
    """Advance ms and return the complete lines printed meanwhile (bytes, no CRLF)."""
    mod.clock.advance(ms)
    out = mod.uart.read() or b""
    if not out:
        return []
    return out.split(b"\r\n")[:-1] if out.endswith(b"\r\n") else out.split(b"\r\n")


def cmd(mod, text, ms=50):
    mod.uart.write(text + b"\r\n")
    return pump(mod, ms)


def setup(mod, rbid=ID, pwd=PWD):
    cmd(mod, b"SKSREG SFE 0")
    assert cmd(mod, b"SKSETPWD C " + pwd.encode()) == [b"OK"]
    assert cmd(mod, b"SKSETRBID " + rbid.encode()) == [b"OK"]


def join(mod):
    setup(mod)
    cmd(mod, b"SKSREG S2 2F")
    cmd(mod, b"SKSREG S3 A0E6")
    lines = cmd(mod, b"SKJOIN " + mod.meter_ip.encode(), 10) + pump(mod, 6000)
    assert any(x.startswith(b"EVENT 25") for x in lines)
    return lines


def sendto(mod, frame, dss=False):
    head = "SKSENDTO 1 %s 0E1A 1 %s%04X " % (mod.meter_ip, "0 " if dss else "", len(frame))
    mod.uart.write(head.encode() + frame)


def get_frame(tid, epcs, deoj=b"\x02\x88\x01"):
    b = bytearray(b"\x10\x81") + struct.pack(">H", tid) + b"\x05\xff\x01" + deoj + bytes((0x62, len(epcs)))
    for e in epcs:
        b += bytes((e, 0))
    return bytes(b)


def erxudp_frames(lines):
    """ECHONET frames (bytes) in hex-mode ERXUDP lines on port 0E1A."""
    out = []
    for line in lines:
        t = line.split(b" ")
        if t[0] == b"ERXUDP" and t[3] == b"0E1A":
            out.append(binascii.unhexlify(t[-1]))
    return out


# ---- SK command set ----------------------------------------------------------
def test_echo_on_by_default_then_off():
    mod = make()
    assert cmd(mod, b"SKVER") == [b"SKVER", b"EVER 1.2.10", b"OK"]
    assert cmd(mod, b"SKSREG SFE 0") == [b"SKSREG SFE 0", b"OK"]
    assert cmd(mod, b"SKVER") == [b"EVER 1.2.10", b"OK"]
    assert cmd(mod, b"SKSREG S2") == [b"ESREG 21", b"OK"]
    assert cmd(mod, b"SKBOGUS") == [b"FAIL ER04"]


def test_ropt_wopt_counts_flash_writes_and_switches_mode():
    mod = make()
    cmd(mod, b"SKSREG SFE 0")
    assert cmd(mod, b"ROPT") == [b"OK 00"]
    assert cmd(mod, b"WOPT 01") == [b"OK"]
    assert cmd(mod, b"ROPT") == [b"OK 01"]
    assert mod.stats["flash_writes"] == 1
    mod.power_cycle()
    assert cmd(mod, b"ROPT")[-1] == b"OK 01"  # flash survives a power cycle, echo came back on
    rl = make("rl7023")
    cmd(rl, b"SKSREG SFE 0")
    assert cmd(rl, b"ROPT") == [b"FAIL ER04"]
    assert cmd(rl, b"WOPT 01") == [b"FAIL ER04"]
    assert rl.stats["flash_writes"] == 0


def test_credentials_checked_for_format():
    mod = make()
    cmd(mod, b"SKSREG SFE 0")
    assert cmd(mod, b"SKSETPWD C 0123") == [b"FAIL ER06"]
    assert cmd(mod, b"SKSETRBID 0011") == [b"FAIL ER06"]
    assert mod.pwd_set is None and mod.rbid_set is None


def test_skll64_flips_the_universal_local_bit():
    mod = make()
    cmd(mod, b"SKSREG SFE 0")
    assert cmd(mod, b"SKLL64 001C640003DD6393") == [b"FE80:0000:0000:0000:021C:6400:03DD:6393"]
    assert bp35a1.ll64("001C640003DD6393") == "FE80:0000:0000:0000:021C:6400:03DD:6393"


@pytest.mark.parametrize("duration,ms", [(4, 4569), (5, 8870), (6, 17472), (7, 34675)])
def test_scan_durations_are_realistic(duration, ms):
    assert bp35a1.scan_ms(duration) == ms
    mod = make()
    setup(mod)
    assert cmd(mod, b"SKSCAN 2 FFFFFFFF %d" % duration, 10) == [b"OK"]
    lines = pump(mod, ms - 20)
    assert not any(x.startswith(b"EVENT 22") for x in lines)
    assert b"EPANDESC" in lines
    assert b"  Channel:2F" in lines and b"  Pan ID:A0E6" in lines and b"  Addr:001C640003DD6393" in lines
    assert b"  PairID:" + ID[-8:].encode() in lines
    assert any(x.startswith(b"EVENT 22") for x in pump(mod, 100))


def test_scan_finds_nothing_with_a_wrong_id_or_too_short():
    mod = make()
    setup(mod, rbid="F" * 32)
    cmd(mod, b"SKSCAN 2 FFFFFFFF 6")
    lines = pump(mod, 20000)
    assert b"EPANDESC" not in lines and any(x.startswith(b"EVENT 22") for x in lines)
    mod = make(scan_min_duration=6)
    setup(mod)
    cmd(mod, b"SKSCAN 2 FFFFFFFF 5")
    assert b"EPANDESC" not in pump(mod, 10000)


def test_join_prints_pana_exchange_then_event_25_and_instance_list():
    mod = make()
    mod.binary = False
    lines = join(mod)
    assert lines[0] == b"OK"
    assert any(x.startswith(b"EVENT 21 ") and x.endswith(b" 02") for x in lines)
    assert any(x.startswith(b"EVENT 02 ") for x in lines)
    pana = [x for x in lines if x.startswith(b"ERXUDP") and b" 02CC 02CC " in x]
    assert len(pana) == 4 and all(x.split(b" ")[6] == b"0" for x in pana)
    joined = [i for i, x in enumerate(lines) if x.startswith(b"EVENT 25")][0]
    later = lines[joined + 1 :]
    assert erxudp_frames(later) == [binascii.unhexlify("108100000EF0010EF0017301D50401028801")]


def test_wrong_password_gives_event_24():
    mod = make()
    setup(mod, pwd="WRONGPASSWRD")
    cmd(mod, b"SKSREG S2 2F")
    cmd(mod, b"SKSREG S3 A0E6")
    cmd(mod, b"SKJOIN " + mod.meter_ip.encode())
    lines = pump(mod, 6000)
    assert any(x.startswith(b"EVENT 24") for x in lines)
    assert not any(x.startswith(b"EVENT 25") for x in lines)


def test_get_answer_after_latency_with_values_of_the_model():
    mod = make(latency_ms=1000)
    mod.binary = False
    join(mod)
    pump(mod, 2000)
    sendto(mod, get_frame(7, [0xE7, 0xE8, 0xE0]))
    first = pump(mod, 100)
    assert first[0].startswith(b"EVENT 21 ") and first[0].endswith(b" 00") and first[1] == b"OK"
    t = mod.requests[-1][4]
    assert pump(mod, 850) == []
    (frame,) = erxudp_frames(pump(mod, 100))
    assert frame[2:4] == b"\x00\x07" and frame[4:7] == b"\x02\x88\x01" and frame[10] == 0x72
    assert struct.unpack(">i", frame[14:18])[0] == mod.meter.power_w(t)
    r, tt = struct.unpack(">hh", frame[20:24])
    assert (r, tt) == mod.meter.current_da(t)
    assert struct.unpack(">I", frame[26:30])[0] == mod.meter.raw(t)


def test_get_sna_for_unsupported_epcs():
    mod = make(meter_kw={"d3": False, "reverse": False})
    mod.binary = False
    join(mod)
    sendto(mod, get_frame(9, [0xE7, 0xE3, 0xD3]))
    (frame,) = erxudp_frames(pump(mod, 1200))
    assert frame[10] == 0x52 and frame[11] == 3
    assert frame[12:14] == b"\xe7\x04" and frame[18:20] == b"\xe3\x00" and frame[20:22] == b"\xd3\x00"


def test_binary_erxudp_and_dss_format():
    mod = make("bp35c0", rssi=True)
    join(mod)  # binary by default
    sendto(mod, get_frame(3, [0xE7]), dss=True)
    out = b"\r\n".join(pump(mod, 1200))
    i = out.find(b"ERXUDP")
    head = out[i:].split(b" ", 10)
    assert head[6] == b"BA" and head[7] == b"1" and head[8] == b"0" and head[9] == b"0012"
    assert head[10][:18][:4] == b"\x10\x81\x00\x03"
    assert cmd(mod, b"SKSCAN 2 FFFFFFFF 4") == [b"FAIL ER05"]  # SIDE missing


def test_history_has_no_data_for_future_slots_and_100_days():
    m = meter_model.MeterModel(START)
    t = START + 0.0  # 10:00 local
    today = m.history(0, t)
    assert today[20] is not None and today[21] is None and today[47] is None
    assert today[0] < today[20]
    old = m.history(99, t)
    assert None not in old and old == sorted(old)
    assert old[-1] <= m.history(98, t)[0]
    mod = make()
    mod.binary = False
    join(mod)
    setc = bytes.fromhex("1081000A05FF010288016101E50163")  # E5 = 99
    sendto(mod, setc)
    (ans,) = erxudp_frames(pump(mod, 1200))
    assert ans[10] == 0x71
    sendto(mod, bytes.fromhex("1081000B05FF010288016101E50164"))  # E5 = 100: refused
    (ans,) = erxudp_frames(pump(mod, 1200))
    assert ans[10] == 0x51


def test_counters_are_the_integral_of_power():
    m = meter_model.MeterModel(START, solar=4000, unit_code=0x02)
    t0, t1 = START, START + 6 * 3600
    i0, e0 = m.energy_ws(t0)
    i1, e1 = m.energy_ws(t1)
    imp = exp = 0
    for minute in range(int(t0 // 60), int(t1 // 60)):
        p = m.power_at_minute(minute)
        imp += max(p, 0) * 60
        exp += max(-p, 0) * 60
    assert (i1 - i0, e1 - e0) == (imp, exp)
    assert exp > 0  # midday export
    assert min(m.power_w(START + k * 60) for k in range(360)) < 0
    # values looked up backwards (history) agree with the forward cursor
    fresh = meter_model.MeterModel(START, solar=4000, unit_code=0x02)
    assert fresh.raw(t1) == m.raw(t1)
    assert fresh.history(0, t1)[32] == m.raw(START - 10 * 3600 + 16 * 3600)


def test_two_wire_current_has_no_t_phase_and_d7_wraps():
    m = meter_model.MeterModel(START, wires=2)
    assert m.current_da(START)[1] is None
    edt = m.property(0xE8, START)
    assert edt[2:] == b"\x7f\xfe"
    m = meter_model.MeterModel(START, digits=6, initial_kwh=99999.9 - 0.05)
    assert m.raw(START - 20 * 3600) > 990000 and m.raw(START) < 1000


def test_fixed_time_pushes_after_each_half_hour():
    mod = make(meter_kw={"solar": 3000})
    mod.binary = False
    join(mod)
    lines = pump(mod, (2 * 3600 + 360) * 1000)  # to 12:06: 10:30 11:00 11:30 12:00, each <= 5 min late
    frames = [f for f in erxudp_frames(lines) if f[10] == 0x73 and f[4:7] == b"\x02\x88\x01"]
    assert len(frames) == 4 and mod.stats["pushes"] == 4
    for f in frames:
        assert f[12] == 0xEA and f[13] == 11 and f[25] == 0xEB
        y, mo, d, hh, mm, ss, raw = struct.unpack(">HBBBBBI", f[14:25])
        assert (y, mo, d) == (2024, 11, 22) and mm in (0, 30) and ss == 0


def test_faults_drop_every_nth_and_delay():
    mod = make()
    mod.binary = False
    join(mod)
    pump(mod, 2000)
    mod.faults.drop_every = 2
    got = 0
    for tid in range(10):
        sendto(mod, get_frame(tid, [0xE7]))
        got += len(erxudp_frames(pump(mod, 1500)))
    assert got == 5 and mod.stats["dropped"] == 5
    mod.faults.drop_every = 0
    mod.faults.delay_ms = 3000
    sendto(mod, get_frame(99, [0xE7]))
    assert erxudp_frames(pump(mod, 3900)) == []
    assert len(erxudp_frames(pump(mod, 200))) == 1


def test_faults_garbage_and_split_keep_the_byte_stream():
    mod = make()
    mod.faults.garbage_prob = 1.0
    mod.faults.split_prob = 1.0
    mod.uart.write(b"SKVER\r\n")
    chunks = []
    for _ in range(100):
        mod.clock.advance(1)
        data = mod.uart.read()
        if data:
            chunks.append(data)
    stream = b"".join(chunks)
    assert len(chunks) >= 5 and mod.stats["garbage"] >= 3 and mod.stats["splits"] >= 3
    assert b"EVER 1.2.10\r\n" in stream and b"OK\r\n" in stream


def test_session_expiry_tx_limit_and_termination():
    mod = make()
    mod.binary = False
    join(mod)
    mod.expire_session()
    lines = pump(mod, 4000)
    assert lines[0].startswith(b"EVENT 29") and lines[-1].startswith(b"EVENT 25")
    mod.tx_limit(5000)
    assert pump(mod, 10)[0].startswith(b"EVENT 32")
    sendto(mod, get_frame(1, [0xE7]))
    lines = pump(mod, 1500)
    assert lines[0].endswith(b" 01") and erxudp_frames(lines) == []
    assert pump(mod, 4000)[-1].startswith(b"EVENT 33")
    mod.peer_terminate()
    lines = pump(mod, 1000)
    assert lines[0].startswith(b"EVENT 26") and lines[1].startswith(b"EVENT 27")
    assert cmd(mod, b"SKTERM") == [b"FAIL ER10"]


def test_skterm_and_skping():
    mod = make()
    mod.binary = False
    join(mod)
    ip = mod.meter_ip.encode()
    assert cmd(mod, b"SKPING " + ip, 400) == [b"OK", b"EPONG " + ip]
    assert cmd(mod, b"SKTERM", 700)[:2] == [b"OK", b"EVENT 27 " + ip]


def test_next_event_lets_a_day_run_quickly():
    mod = make()
    n = 0
    while mod.clock.now_ms < 24 * 3600 * 1000:
        nxt = mod.next_event_ms()
        assert nxt is not None and nxt > mod.clock.now_ms
        mod.clock.advance_to(nxt)
        mod.update()
        n += 1
    assert n < 100  # the push timer only: nothing polls at a fixed rate


def test_pty_bridge_talks_to_pyserial():
    serial = pytest.importorskip("serial")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.Popen(
        [sys.executable, os.path.join(root, "host", "pty_bridge.py"), "--latency-ms", "100"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        path = p.stdout.readline().strip()
        port = serial.Serial(path, 115200, timeout=2)
        port.write(b"SKSREG SFE 0\r\n")
        assert port.readline() == b"SKSREG SFE 0\r\n"
        assert port.readline() == b"OK\r\n"
        port.write(b"SKVER\r\n")
        assert port.readline() == b"EVER 1.2.10\r\n"
        port.close()
    finally:
        p.terminate()
        assert p.wait(5) == 0


# ---- an old session in the module, a quiet or unreachable meter ----------------
def test_skjoin_is_refused_while_a_session_is_open_until_skterm_or_skreset():
    mod = make()
    mod.binary = False
    join(mod)
    ip = mod.meter_ip.encode()
    assert cmd(mod, b"SKJOIN " + ip) == [b"FAIL ER10"]
    assert mod.stats["refused_joins"] == 1
    assert cmd(mod, b"SKTERM", 10) == [b"OK"]
    assert cmd(mod, b"SKJOIN " + ip) == [b"FAIL ER10"]  # still closing until EVENT 27
    assert pump(mod, 700)[0].startswith(b"EVENT 27 ")
    assert cmd(mod, b"SKTERM") == [b"FAIL ER10"]  # nothing left to end
    assert cmd(mod, b"SKJOIN " + ip, 10)[0] == b"OK"
    assert any(x.startswith(b"EVENT 25") for x in pump(mod, 6000))
    assert cmd(mod, b"SKRESET") == [b"OK"] and mod.session is None and mod.stats["resets"] == 1
    lax = make(refuse_join=False)  # the earlier simulator: a join replaces the session
    lax.binary = False
    join(lax)
    assert cmd(lax, b"SKJOIN " + lax.meter_ip.encode(), 10)[0] == b"OK"


def test_joined_before_and_joining_before_at_start_up():
    mod = make()
    mod.joined_before()
    assert cmd(mod, b"SKVER") == [b"EVER 1.2.10", b"OK"]  # echo already off
    sendto(mod, get_frame(5, [0xE7]))  # the session works without any set-up
    assert len(erxudp_frames(pump(mod, 1200))) == 1
    assert cmd(mod, b"SKJOIN " + mod.meter_ip.encode()) == [b"FAIL ER10"]
    mod = make()
    mod.joining_before()
    assert cmd(mod, b"SKTERM") == [b"FAIL ER10"]  # a join in progress is no session to end
    assert cmd(mod, b"SKJOIN " + mod.meter_ip.encode()) == [b"FAIL ER10"]
    cmd(mod, b"SKRESET")
    setup(mod)  # echo came back on with the reset
    cmd(mod, b"SKSREG S2 2F")
    cmd(mod, b"SKSREG S3 A0E6")
    assert cmd(mod, b"SKJOIN " + mod.meter_ip.encode(), 10)[0] == b"OK"


def test_silence_keeps_the_session_and_pings_away_does_not():
    mod = make()
    mod.binary = False
    join(mod)
    pump(mod, 2000)
    ip = mod.meter_ip.encode()
    mod.silence(5000)
    sendto(mod, get_frame(1, [0xE7]))
    assert erxudp_frames(pump(mod, 1500)) == []  # no answer ...
    assert cmd(mod, b"SKPING " + ip, 400) == [b"OK", b"EPONG " + ip]  # ... but the meter is there
    pump(mod, 4000)
    sendto(mod, get_frame(2, [0xE7]))
    assert len(erxudp_frames(pump(mod, 1500))) == 1  # answers again after 5 s
    mod.away(20000)
    assert cmd(mod, b"SKPING " + ip, 1000) == [b"OK"]  # no EPONG
    assert cmd(mod, b"SKTERM", 10) == [b"OK"]
    assert pump(mod, 5100)[-1].startswith(b"EVENT 28 ")  # the meter never confirmed
    setup(mod)
    cmd(mod, b"SKJOIN " + ip, 10)
    lines = pump(mod, 13000)
    assert any(x.startswith(b"EVENT 24") for x in lines)  # out of reach: the join fails


def test_expire_each_request_and_drop_epcs():
    mod = make()
    mod.binary = False
    join(mod)
    pump(mod, 2000)
    mod.faults.expire_each_request = True
    sendto(mod, get_frame(1, [0xE7]))
    lines = pump(mod, 4000)
    assert any(x.startswith(b"EVENT 29") for x in lines) and lines[-1].startswith(b"EVENT 25")
    assert erxudp_frames(lines) == [] and mod.stats["reauths"] == 1
    mod.faults.expire_each_request = False
    mod.faults.drop_epcs = (0xE2,)
    sendto(mod, get_frame(2, [0xE2]))
    sendto(mod, get_frame(3, [0xE7]))
    frames = erxudp_frames(pump(mod, 1500))
    assert [f[3] for f in frames] == [3]  # only the E2 answer is lost


def test_a_module_without_ropt_stays_binary():
    mod = make(ropt=False)
    cmd(mod, b"SKSREG SFE 0")
    assert cmd(mod, b"ROPT") == [b"FAIL ER04"] and cmd(mod, b"WOPT 01") == [b"FAIL ER04"]
    join(mod)
    sendto(mod, get_frame(0x0D0A, [0xE7]))
    out = mod.uart.read() or b""
    mod.clock.advance(1200)
    out += mod.uart.read() or b""
    i = out.find(b"ERXUDP")
    assert i >= 0 and out[i:].split(b" ", 8)[7] == b"0012"  # raw bytes follow the length
    assert b"\x0d\x0a\x02\x88\x01" in out[i:]  # the TID 0D0A: a CR LF inside the data
