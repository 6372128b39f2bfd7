"""SK lines seen at start-up: EVER, ESREG, EPONG, EPANDESC and its fields, IPv6 addresses.

sk.parse_line hands these forms here (lib/lazy.py call()); the session's
start-up keeps this module loaded while it runs, so in the steady state
its bytecode is not in the device's heap.
"""

from meter.echonet import CodecError

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


# the kinds of lib/link/sk.py (same values; this module does not import its caller back)
_EVER = const(2)
_ESREG = const(3)
_IPV6 = const(4)
_EPANDESC = const(6)
_FIELD = const(7)
_EPONG = const(8)

_VALUED = ((_EVER, b"EVER "), (_ESREG, b"ESREG "), (_EPONG, b"EPONG "))
_HEX = b"0123456789ABCDEFabcdef"


def _text(b):
    """str of b; bytes outside printable ASCII become '?' when b is not UTF-8."""
    try:
        return b.decode()
    except UnicodeError:
        return "".join(chr(c) if 32 <= c < 127 else "?" for c in b)


def parse(line):
    """(kind, ...) as sk.parse_line returns it for these forms; None for any other line."""
    for kind, word in _VALUED:
        if line.startswith(word) or line == word[:-1]:
            v = line[len(word) :].strip().split(b" ")[0] if len(line) > len(word) else b""
            if not v:
                raise CodecError("%s without value" % _text(word))
            return (kind, _text(v))
    if line == b"EPANDESC":
        return (_EPANDESC,)
    if line.startswith(b"  "):
        i = line.find(b":")
        if i < 0:
            raise CodecError("EPANDESC field without ':'")
        return (_FIELD, _text(line[2:i].strip()), _text(line[i + 1 :].strip()))
    if _is_ipv6(line):
        return (_IPV6, _text(line))
    return None


def _is_ipv6(line):
    """FE80:0000:0000:0000:021C:6400:03DD:6393 (8 groups of 4 hex digits)."""
    if len(line) != 39:
        return False
    for i in range(39):
        c = line[i]
        if i % 5 == 4:
            if c != 58:  # ':'
                return False
        elif c not in _HEX:
            return False
    return True
