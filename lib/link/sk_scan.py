"""SK lines seen at start-up: EVER, ESREG, EPONG, EPANDESC and its fields, IPv6 addresses.

sk.parse_line hands these forms here (see sk._setup_form); the session's
start-up keeps this module loaded while it runs, so in the steady state
its bytecode is not in the device's heap.
"""

from meter.echonet import CodecError
from link.sk import _HEX, EPANDESC, EPONG, ESREG, EVER, FIELD, IPV6, _skip, _stop, _text

_VALUED = ((EVER, b"EVER "), (ESREG, b"ESREG "), (EPONG, b"EPONG "))


def parse(line):
    """(kind, ...) as sk.parse_line returns it for these forms; None for any other line."""
    for kind, word in _VALUED:
        if line.startswith(word) or line == word[:-1]:
            a = _skip(line, len(word))
            if a >= len(line):
                raise CodecError("%s without value" % _text(word))
            return (kind, _text(line[a : _stop(line, a)]))
    if line == b"EPANDESC":
        return (EPANDESC,)
    if line.startswith(b"  "):
        i = line.find(b":")
        if i < 0:
            raise CodecError("EPANDESC field without ':'")
        return (FIELD, _text(line[2:i].strip()), _text(line[i + 1 :].strip()))
    if _is_ipv6(line):
        return (IPV6, _text(line))
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
