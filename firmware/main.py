"""Boot entry of the M5StickC app: everything else is compiled .mpy in /lib (firmware/device.py)."""

import gc

gc.collect()

import device  # noqa: E402

device.run()
