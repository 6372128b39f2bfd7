"""Wi-Fi station for the app: connect() starts an attempt and returns at once.

Wifi(ssid, password).is_connected() -> bool; connect() drops any half-open
attempt and starts a new one (the app calls it with back-off, so a lost
network comes back without a reset). The password is registered as a
secret and never logged.
"""

import log
import network


class Wifi:
    def __init__(self, ssid, password):
        self.ssid = ssid
        self._password = password or ""
        log.secret(self._password)
        self.wlan = network.WLAN(network.STA_IF)
        self.wlan.active(True)
        self.attempts = 0

    def is_connected(self):
        return self.wlan.isconnected()

    def connect(self):
        self.attempts += 1
        log.info("Wi-Fi: connecting to %s (attempt %d)", self.ssid, self.attempts)
        try:
            self.wlan.disconnect()
        except OSError:
            pass
        try:
            self.wlan.connect(self.ssid, self._password)
        except OSError as e:  # "Wifi Internal Error" while the driver is busy: retry later
            log.warning("Wi-Fi: connect failed: %s", e)
            if self.attempts % 4 == 0:  # a stuck driver: restart the interface
                self.wlan.active(False)
                self.wlan.active(True)

    def address(self):
        """The station's IPv4 address, or None."""
        return self.wlan.ifconfig()[0] if self.wlan.isconnected() else None
