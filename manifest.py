# Freeze SmartMeter into a custom MicroPython firmware for the M5StickC.
#
# Frozen bytecode runs from flash: the ~60 KB of compiled code that official
# firmware loads into the heap (see `make bench`, heap table) stays out of RAM.
# Build (needs ESP-IDF; not built by this repo's CI):
#   cd micropython/ports/esp32
#   make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/SmartMeter/manifest.py
# then flash it like the official firmware, and copy only main.py and
# SmartMeter.json (`mpremote cp firmware/main.py :main.py`).
include("$(PORT_DIR)/boards/manifest.py")
require("requests")
freeze("lib")
freeze(
    "firmware",
    ("device.py", "startup.py", "board.py", "st77xx.py", "axp192.py", "buttons.py", "wifi.py", "netclock.py"),
)
