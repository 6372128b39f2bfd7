# Boot entry of the M5StickC app: everything else is compiled .mpy in /lib (firmware/device.py).
# GPIO4 goes high first: it holds the M5StickC Plus2's power on (on battery the Plus2 turns off
# without it; the StickC and Plus leave GPIO4 unused). Button A (GPIO37, active low) held at
# power-on: no app and no watchdog, just the REPL.
from machine import Pin

Pin(4, Pin.OUT, value=1)
if Pin(37, Pin.IN).value():
    import gc

    gc.collect()
    import device

    device.run()
else:
    print("button A held: REPL only (no app, no watchdog); reset to start the app")
