"""SK command responses (BP35A1 / BP35C0 family) and the UART line splitter.

parse_line(line) classifies one line (without CRLF) into a tuple whose
first item is a kind: 0 OK, 1 FAIL, 2 EVER, 3 ESREG, 4 IPV6, 5 EVENT,
6 EPANDESC, 7 FIELD, 8 EPONG, 9 ERXUDP, 10 ECHO, 11 UNKNOWN (plain numbers:
each user keeps its own const()s, so no name costs heap). LineReader turns
raw UART bytes into lines in a
preallocated buffer. An ERXUDP line says itself whether its data is hex or
raw bytes (ROPT may not answer: a BP35A1 without it is binary, an RL7023
Stick-D has none and prints hex): after the data length come either
exactly 2 x datalen hex digits and CRLF, or datalen raw bytes (which may
hold CR, LF and spaces) and CRLF. The reader reads raw data by its length.

The forms seen only at start-up (EVER, ESREG, EPONG, EPANDESC, FIELD, IPV6)
are parsed by lib/link/sk_scan.py, imported when needed, so a device in its
steady state does not keep that bytecode in the heap.
"""

import binascii

import lazy
from meter.echonet import CodecError

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_OK = const(0)  # the kinds
_FAIL = const(1)
_EVENT = const(5)
_ERXUDP = const(9)
_ECHO = const(10)
_UNKNOWN = const(11)

_HEX = b"0123456789ABCDEFabcdef"
_RX = b"ERXUDP "
_SECRET_ECHO = (b"SKSETPWD", b"SKSETRBID")
_OK_LINE = (_OK, None)


def _hex(line, a, b):
    """int of the strict hex digits line[a:b]; CodecError otherwise. No allocation."""
    if a >= b:
        raise CodecError("empty field")
    v = 0
    for k in range(a, b):
        c = line[k]
        if 48 <= c <= 57:
            v = (v << 4) | (c - 48)
        elif 65 <= c <= 70 or 97 <= c <= 102:
            v = (v << 4) | ((c | 32) - 87)
        else:
            raise CodecError("not hex: %s" % _text(line[a:b]))
    return v


def _text(b):
    """str of b; bytes outside printable ASCII become '?' when b is not UTF-8."""
    try:
        return b.decode()
    except UnicodeError:
        b = bytearray(b)
        for i in range(len(b)):
            if not 32 <= b[i] < 127:
                b[i] = 63
        return b.decode()


def _stop(line, a):
    """Index of the first space at or after a (len(line) when none)."""
    j = line.find(b" ", a)
    return len(line) if j < 0 else j


def _skip(line, a):
    """Index of the first non-space at or after a."""
    n = len(line)
    while a < n and line[a] == 32:
        a += 1
    return a


class Erxudp:
    """One received UDP datagram.

    rport, lport: ints (0x0E1A ECHONET, 0x02CC PANA); secured: int (1 =
    encrypted); side, rssi: int or None (BP35C0 family; rssi in dBm); data:
    bytes. sender, dest (IPv6 text) and sender_lla (MAC text) are read from
    the line on access only.
    """

    def __init__(self, line, rport, lport, secured, side, rssi, data):
        self._line = line
        self.rport = rport
        self.lport = lport
        self.secured = secured
        self.side = side
        self.rssi = rssi
        self.data = data

    def __getattr__(self, name):
        """sender, dest, sender_lla: the 1st, 2nd and 5th field of the line (str)."""
        if name == "sender":
            k = 0
        elif name == "dest":
            k = 1
        elif name == "sender_lla":
            k = 4
        else:
            raise AttributeError(name)
        line = self._line
        a = 7
        for _ in range(k):
            a = _stop(line, a) + 1
        return _text(line[a : _stop(line, a)])


def _space(line, a):
    j = line.find(b" ", a)
    if j < 0:
        raise CodecError("short ERXUDP")
    return j


def _erxudp(line):
    # ERXUDP sender dest rport lport lla [rssi] secured [side] datalen data
    s1 = _space(line, 7)
    s2 = _space(line, s1 + 1)
    s3 = _space(line, s2 + 1)
    s4 = _space(line, s3 + 1)
    a = _space(line, s4 + 1) + 1
    rport = _hex(line, s2 + 1, s3)
    lport = _hex(line, s3 + 1, s4)
    n = len(line)
    k = 0  # small fields before datalen: [rssi] secured [side]
    a0 = e0 = a1 = e1 = a2 = e2 = 0
    while True:
        e = _stop(line, a)
        if k and e - a == 4:
            break
        if e == n or k == 3:
            raise CodecError("ERXUDP without data length")
        if k == 0:
            a0, e0 = a, e
        elif k == 1:
            a1, e1 = a, e
        else:
            a2, e2 = a, e
        k += 1
        a = e + 1
    size = _hex(line, a, e)
    d = min(e + 1, n)
    if n - d == size:  # binary mode: raw bytes
        data = line[d:]
    else:  # hex mode
        while n > d and line[n - 1] in b" \r\n\t":
            n -= 1
        if n - d != 2 * size:
            raise CodecError("ERXUDP data is not %d bytes" % size)
        try:
            data = binascii.unhexlify(memoryview(line)[d:n])  # pyright: ignore[reportArgumentType]
        except ValueError:
            raise CodecError("ERXUDP data is not hex")
    rssi = side = None
    if k == 3:  # RSSI in dBm: a signed hex byte ("B4" = -76) or a decimal with sign
        if line[a0] == 45:  # '-'
            if e0 - a0 < 2:
                raise CodecError("bad RSSI")
            rssi = 0
            for i in range(a0 + 1, e0):
                c = line[i] - 48
                if not 0 <= c <= 9:
                    raise CodecError("bad RSSI")
                rssi = rssi * 10 - c
        else:
            rssi = _hex(line, a0, e0)
            if e0 - a0 == 2 and rssi >= 0x80:
                rssi -= 256
        a0, e0, a1, e1 = a1, e1, a2, e2
    if k >= 2:
        side = _hex(line, a1, e1)
    return Erxudp(line, rport, lport, _hex(line, a0, e0), side, rssi, data)


def _event(line):
    # EVENT num sender [param] [side]; BP35C0 prints side (1 digit) before param
    n = len(line)
    while n and line[n - 1] == 32:
        n -= 1
    a = _skip(line, 6)
    e = _stop(line, a)
    num = _hex(line, a, e)
    a = _skip(line, e)
    e = _stop(line, a)
    if a >= n:
        raise CodecError("EVENT without sender")
    sender = _text(line[a:e])
    param = side = None
    for _ in range(3):
        a = _skip(line, e)
        if a >= n:
            return (_EVENT, num, sender, param, side)
        e = _stop(line, a)
        if e - a == 1 and side is None:
            side = _hex(line, a, e)
        elif param is None:
            param = _hex(line, a, e)
        else:
            side = _hex(line, a, e)
    raise CodecError("EVENT with too many fields")


def parse_line(line):
    """Classify one module line (bytes, no CRLF) into a tuple (kind, ...).

    Raises CodecError only for a malformed instance of a known form.
    """
    if not isinstance(line, bytes):
        line = bytes(line)
    if line == b"OK":
        return _OK_LINE
    if line.startswith(b"EVENT "):
        return _event(line)
    if line.startswith(_RX):
        return (_ERXUDP, _erxudp(line))
    if line.startswith(b"OK "):
        return (_OK, _text(line[3:].strip()) or None)
    if line.startswith(b"FAIL") and (len(line) == 4 or line[4] == 32):
        return (_FAIL, _text(line[4:].strip()) or None)
    if line.startswith(b"SK") or line.startswith(b"ROPT") or line.startswith(b"WOPT"):
        for word in _SECRET_ECHO:  # never hand a credential on, even as an echo
            if line.startswith(word):
                return (_ECHO, _text(word) + " ***")
        return (_ECHO, _text(line))
    if line[:1] == b"E" or line.startswith(b"  ") or len(line) == 39:
        # EVER, ESREG, EPONG, EPANDESC, FIELD or IPV6 (start-up answers): lib/link/sk_scan.py
        # parses them; it stays loaded while the session's start-up holds it
        r = lazy.call("link.sk_scan", "parse", line)
        if r is not None:
            return r
    return (_UNKNOWN, _text(line))


class LineReader:
    """Splits raw UART bytes into lines in a preallocated buffer.

    readfrom(uart) reads from a UART straight into the buffer (what does not
    fit stays in the UART); feed(data) copies bytes in (data may be a
    memoryview the caller reuses; what does not fit waits in a temporary bytes
    object). Drain with next_line() after each: it returns one line as bytes
    without CRLF, or None when no complete line is buffered. An ERXUDP line
    whose data is not 2 x datalen hex digits is the header plus datalen raw
    bytes, read by length; .hex tells which form the last ERXUDP had (None
    before the first). A line longer than the buffer is dropped (up to its
    CRLF, or by length) and counted in .dropped, as is leading junk (bytes
    outside printable ASCII at a line start). Never raises.
    """

    def __init__(self, size=1024):
        size = max(size, 16)
        self._buf = bytearray(size)
        self._mv = memoryview(self._buf)
        self._size = size
        self._start = 0  # first unread byte
        self._end = 0  # one past the last buffered byte
        self._pending = None  # bytes fed while the buffer was full
        self._skip = 0  # raw bytes still to discard (oversized binary data)
        self._discard = False  # discarding up to the next LF (overlong line)
        self._len = 0  # datalen of the ERXUDP line being read
        self.hex = None
        self.dropped = 0

    def feed(self, data):
        n = len(data)
        if not n:
            return
        if self._pending is not None:
            self._pending += bytes(data)
            return
        if self._end + n > self._size:
            self._compact()
        k = self._size - self._end
        if k >= n:
            self._mv[self._end : self._end + n] = data
            self._end += n
        else:
            self._mv[self._end :] = data[:k]
            self._end = self._size
            self._pending = bytes(data[k:])

    def resize(self, size):
        """Use a buffer of size bytes from now on (>= 16 and >= the bytes buffered, which move
        with it): the session holds a long one only while history answers are expected."""
        n = self._end - self._start
        size = max(size, 16, n)
        if size == self._size:
            return
        buf = bytearray(size)
        buf[:n] = self._mv[self._start : self._end]
        self._buf = buf
        self._mv = memoryview(buf)
        self._size = size
        self._start = 0
        self._end = n

    def readfrom(self, uart):
        """Read what uart has (uart.readinto) straight into the free part of the buffer; drain
        with next_line() after each call (a line that fills the buffer is dropped there, which
        makes room again). Bytes read (0 or None: nothing, or no room)."""
        self._compact()
        n = uart.readinto(self._mv[self._end :])
        if n:
            self._end += n
        return n

    def __len__(self):
        """Bytes buffered and not yet returned."""
        p = self._pending
        return self._end - self._start + (len(p) if p else 0)

    def _compact(self):
        s = self._start
        if s:
            n = self._end - s
            buf = self._buf
            for i in range(n):  # overlap-safe, allocation-free move to the front
                buf[i] = buf[s + i]
            self._start = 0
            self._end = n

    def next_line(self):
        while True:
            line = self._take()
            if line is not None:
                return line
            if self._start == self._end:
                self._start = self._end = 0
            p = self._pending  # bytes fed while the buffer was full: move them in
            if p is None:
                return None
            self._compact()
            k = self._size - self._end
            if not k:
                return None
            if k >= len(p):
                k = len(p)
                self._pending = None
            else:
                self._pending = p[k:]
            self._mv[self._end : self._end + k] = p[:k]
            self._end += k

    def _take(self):
        buf = self._buf
        end = self._end
        if self._skip:
            k = min(self._skip, end - self._start)
            self._skip -= k
            self._start += k
            if self._skip:
                return None
        if self._discard:
            i = buf.find(b"\n", self._start, end)
            if i < 0:
                self._start = end
                return None
            self._start = i + 1
            self._discard = False
        # skip CR/LF and junk before a line
        s = self._start
        junk = False
        while s < end:
            c = buf[s]
            if 32 <= c < 127:
                break
            if c != 10 and c != 13:
                junk = True
            s += 1
        if junk:
            self.dropped += 1
        self._start = s
        if s == end:
            return None
        i = buf.find(b"\n", s, end)
        if i < 0:
            if end - s >= self._size:  # one line fills the buffer: drop it
                self.dropped += 1
                self._discard = True
                self._start = end
            return None
        e = i + 1  # where the next line starts
        if i > s and buf[i - 1] == 13:
            i -= 1
        if buf[s] == 69 and buf[s + 6] == 32 and self._mv[s : s + 7] == _RX:
            d = self._data(s, i)
            if d >= 0:
                n = self._len
                k = d
                if i - d == 2 * n:
                    while k < i and buf[k] in _HEX:
                        k += 1
                self.hex = k == i and i - d == 2 * n
                stop = d + n
                if not self.hex and stop > i:  # raw data holding an LF: read datalen bytes
                    if stop - s > self._size:  # cannot hold it: drop it, skip its data
                        self.dropped += 1
                        self._skip = stop - end if stop > end else 0
                        self._start = min(stop, end)
                        return None
                    if stop > end:
                        return None  # the rest of the data is still to come
                    i = e = stop  # the CRLF after the data is skipped as a line start
        self._start = e
        return bytes(self._mv[s:i])

    def _data(self, s, i):
        """Index of the data of the ERXUDP line buf[s:i] (datalen in ._len), -1 when it has none."""
        buf = self._buf
        # tokens after ERXUDP: sender dest rport lport lla [rssi] secured [side] datalen
        pos = s + 7
        ntok = 0
        while True:
            sp = buf.find(b" ", pos, i)
            if sp < 0:
                return -1
            ntok += 1
            if ntok >= 7 and sp - pos == 4:
                break
            if ntok >= 9:
                return -1
            pos = sp + 1
        n = 0
        for k in range(pos, sp):
            c = buf[k]
            if 48 <= c <= 57:
                n = n * 16 + c - 48
            elif 65 <= c <= 70:
                n = n * 16 + c - 55
            else:
                return -1
        self._len = n
        return sp + 1
