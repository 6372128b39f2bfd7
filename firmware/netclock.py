"""Wall clock for the device: NTP into the RTC, read back as Unix seconds (UTC).

sync(host) -> bool sets the RTC from NTP (ntptime, a 2 s socket timeout;
wifi.Wifi.sync_time passes the cached IPv4 address of HOST, so ntptime's
getaddrinfo needs no DNS);
wall() -> Unix seconds (int) or None while the RTC holds no plausible time
(before 2024: never synced since power-up).
"""

import time

import ntptime
from micropython import const

HOST = "pool.ntp.org"
_MIN_VALID = const(1704067200)  # 2024-01-01T00:00:00Z
# Ports whose time.time() counts from 2000-01-01 need this added for Unix time.
_EPOCH = 946684800 if time.gmtime(0)[0] == 2000 else 0


def sync(host=HOST, timeout_s=2):
    """Set the RTC (UTC) from NTP; True on success."""
    ntptime.host = host
    try:
        ntptime.timeout = timeout_s
    except AttributeError:
        pass
    try:
        ntptime.settime()
    except (OSError, OverflowError, IndexError):
        return False
    return wall() is not None


def wall():
    """Unix seconds (UTC, int), or None while the clock is not set."""
    t = int(time.time()) + _EPOCH
    return t if t >= _MIN_VALID else None
