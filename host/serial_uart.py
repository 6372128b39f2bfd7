"""A pyserial port with the UART-like interface of lib/ (machine.UART, timeout=0).

SerialUart(port, baudrate=115200): 8N1, no flow control.
  write(buf) -> int; readinto(buf) -> int | None (never blocks; None when
  nothing is waiting); any() -> int; wait(ms) sleeps until bytes arrive or ms
  pass; close().
A port that disappears (USB dongle unplugged) does not raise into the app:
reads return None and writes 0 while it is gone, and the port is reopened
every REOPEN_S seconds. The session's own deadlines then recover the link.
"""

import select
import time

import serial

REOPEN_S = 2.0
# what a vanished or closed port raises inside pyserial (EIO, a None fd, ...)
_LOST = (serial.SerialException, OSError, TypeError, ValueError)


class SerialUart:
    def __init__(self, port, baudrate=115200, log=None):
        self.port_name = port
        self.baudrate = baudrate
        self._log = log or (lambda text: None)
        self._port = None
        self._retry_at = 0.0
        self.errors = 0
        self._closed = False
        self._open(first=True)

    def _open(self, first=False):
        try:
            self._port = serial.Serial(
                self.port_name,
                self.baudrate,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=0,
                write_timeout=2,
                xonxoff=False,
                rtscts=False,
                dsrdtr=False,
            )
            if not first:
                self._log("serial %s reopened" % self.port_name)
        except (serial.SerialException, OSError):
            if first:
                raise
            self._port = None
            self._retry_at = time.monotonic() + REOPEN_S

    def _lost(self, err):
        self.errors += 1
        self._log("serial %s lost: %s" % (self.port_name, err))
        try:
            if self._port is not None:
                self._port.close()
        except Exception:
            pass
        self._port = None
        self._retry_at = time.monotonic() + REOPEN_S

    def _ready(self):
        if self._port is None and not self._closed and time.monotonic() >= self._retry_at:
            self._open()
        return self._port

    def any(self):
        port = self._ready()
        if port is None:
            return 0
        try:
            return port.in_waiting
        except _LOST as e:
            self._lost(e)
            return 0

    def readinto(self, buf):
        port = self._ready()
        if port is None:
            return None
        try:
            waiting = port.in_waiting
            if not waiting:
                return None
            data = port.read(min(waiting, len(buf)))
        except _LOST as e:
            self._lost(e)
            return None
        n = len(data)
        if not n:
            return None
        buf[:n] = data
        return n

    def read(self, n=-1):
        """Like machine.UART.read(): bytes waiting (up to n) or None."""
        size = self.any() if n is None or n < 0 else n
        if not size:
            return None
        buf = bytearray(size)
        got = self.readinto(buf)
        return bytes(buf[:got]) if got else None

    def write(self, buf):
        port = self._ready()
        if port is None:
            return 0
        try:
            n = port.write(buf)
            return len(buf) if n is None else n
        except serial.SerialTimeoutException:
            return 0
        except _LOST as e:
            self._lost(e)
            return 0

    def wait(self, ms):
        """Sleep up to ms (ms), waking early when the port has bytes to read."""
        port = self._port
        timeout = max(0, ms) / 1000.0
        if port is None:
            time.sleep(timeout)
            return
        try:
            if port.in_waiting:
                return
            select.select([port.fileno()], [], [], timeout)
        except (serial.SerialException, OSError, ValueError, AttributeError):
            time.sleep(timeout)

    def close(self):
        self._closed = True
        if self._port is not None:
            try:
                self._port.flush()
            except Exception:
                pass
            try:
                self._port.close()
            except Exception:
                pass
            self._port = None
