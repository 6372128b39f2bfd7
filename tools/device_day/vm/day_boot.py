"""The device day's boot inside the capped VM (`micropython -m day_boot`): hw_boot sets up the
stand-ins and is dropped; then /boot.py (if any) and /main.py run as on the ESP32. The day ends
with KeyboardInterrupt (the device loop closes politely) or SystemExit (a reset)."""

import sys

import hw_boot

del sys.modules["hw_boot"], hw_boot
t = sys.modules["time"]
t.snap(b"harness")
try:
    try:
        open("/boot.py").close()
        import boot  # noqa: F401
    except OSError:
        pass
    import main  # noqa: F401
except KeyboardInterrupt:
    t.xfer(69)  # E: the day is over
