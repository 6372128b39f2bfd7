"""Binary ERXUDP lines (ROPT 00, when WOPT 01 could not switch the module to hex).

sk.LineReader hands a line starting with 'E' here while .binary is set;
the module is imported the first time that happens and stays loaded (a
module printing hex never loads it).
"""

from link.sk import _ERXUDP, _HEX

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_HEADER_MAX = const(200)  # an ERXUDP header (up to the data) is ~130 bytes


def take(reader, s, end):
    """A binary ERXUDP line at s in the LineReader's buffer: bytes, None (incomplete), -1 (not one)."""
    buf = reader._buf
    avail = end - s
    for k in range(min(7, avail)):
        if buf[s + k] != _ERXUDP[k]:
            return -1
    if avail < 7:
        return None
    # tokens after ERXUDP: sender dest rport lport lla [rssi] secured [side] datalen
    limit = min(end, s + _HEADER_MAX)
    pos = s + 7
    ntok = 0
    while True:
        sp = buf.find(b" ", pos, limit)
        if sp < 0:
            if limit == end and end - s < min(_HEADER_MAX, reader._size) and buf.find(b"\n", pos, end) < 0:
                return None  # header still arriving
            return -1
        ntok += 1
        if ntok >= 7 and sp - pos == 4:
            break
        if ntok >= 9 or buf.find(b"\n", pos, sp) >= 0:
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
    data = sp + 1
    if n:
        # binary data is n raw bytes and CRLF, hex text 2n hex digits: a
        # non-hex byte among the first 2n decides for binary
        hexend = data + 2 * n
        k = data
        lim = min(end, hexend)
        while k < lim and buf[k] in _HEX:
            k += 1
        if k == hexend:
            return -1  # the module prints hex after all: a plain line
        if k == end:  # undecided so far
            if end - s < reader._size:
                return None
            reader.dropped += 1  # a buffer full of hex digits: drop the line
            reader._discard = True
            reader._start = end
            return None
    stop = data + n
    if stop - s > reader._size:  # cannot hold it: drop, skip its data
        reader.dropped += 1
        reader._skip = stop - end if stop > end else 0
        reader._start = min(stop, end)
        return None
    if stop > end:
        return None
    reader._start = stop  # the CRLF after the data is skipped as a line start
    return bytes(reader._mv[s:stop])
