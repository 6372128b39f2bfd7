"""A tiny levelled logger that never prints a registered secret.

log.secret(value) registers a credential; every message is scrubbed of
registered secrets before it reaches the sink (defence in depth: callers
must not format secrets in the first place). The sink is print() by
default; host mode and tests hand in their own with log.set_sink(fn).
"""

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40

_level = INFO
_secrets = []
_sink = print


def set_level(level):
    global _level
    _level = level


def set_sink(fn):
    """fn(text) receives each finished line."""
    global _sink
    _sink = fn


def secret(value):
    """Register a credential so that no log line can carry it."""
    if value and len(value) >= 4 and value not in _secrets:
        _secrets.append(value)


def scrub(text):
    """text with every registered secret replaced by '***'."""
    for s in _secrets:
        if s in text:
            text = text.replace(s, "***")
    return text


def log(level, msg, *args):
    """msg % args at level (DEBUG, INFO, WARNING or ERROR), if the level is on."""
    if level < _level:
        return
    if args:
        msg = msg % args
    _sink(scrub("%s %s" % (("DEBUG", "INFO", "WARN", "ERROR")[level // 10 - 1], msg)))


def debug(msg, *args):
    if _level <= DEBUG:
        log(DEBUG, msg, *args)


def info(msg, *args):
    log(INFO, msg, *args)


def warning(msg, *args):
    log(WARNING, msg, *args)


def error(msg, *args):
    log(ERROR, msg, *args)
