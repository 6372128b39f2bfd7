"""Where the app's heap goes, module by module (tools/device_day/anatomy.py runs this with -m).

Mounts the flash and the stand-ins as the day does (no harness link), imports
DAY_MODULES in the order given, and prints per module the live heap it added
after gc.collect() and the qstr pools before and after (micropython.qstr_info);
then builds the M5StickC's st77xx.Panel as firmware/board.py setup(banded=True) builds it (a
frame buffer of an eighth of the rows, drawn band by band) and prints what it holds.
"""

import gc
import os
import sys

import micropython

os.umount("/")
os.mount(os.VfsPosix(os.getenv("DAY_FLASH")), "/")
os.mount(os.VfsPosix(os.getenv("DAY_STANDINS")), "/standins")
os.chdir("/")
sys.path[:] = ["/standins", "", ".frozen", "/lib"]
import hw_machine  # noqa: E402
import hw_network  # noqa: E402
import hw_time  # noqa: E402

sys.modules["time"] = hw_time
sys.modules["machine"] = hw_machine
sys.modules["gc"] = hw_network.Gc
sys.modules["network"] = hw_network.Net
sys.modules["ntptime"] = hw_network.Ntp
sys.modules["socket"] = hw_network.Sock


def mark(name):
    gc.collect()
    print("ANAT", name, gc.mem_alloc())
    micropython.qstr_info()


mark("-")
for name in os.getenv("DAY_MODULES").split():
    try:
        __import__(name)
    except Exception as e:  # noqa: BLE001
        print("ANATERR", name, repr(e))
    mark(name)
try:
    import st77xx

    panel = st77xx.Panel(
        hw_machine.SPI(1),
        hw_machine.Pin(5),
        hw_machine.Pin(23),
        hw_machine.Pin(18),
        160,
        80,
        st77xx.ST7735S_INIT,
        ((0x68, 1, 26), (0xA8, 1, 26)),
        lambda p: None,
        rows=(80 + 7) // 8,  # board.setup(banded=True): an eighth of the rows
    )
    mark("=panel")
    print("ANATBUF", len(panel.buffer), panel.buffer_rows)
except Exception as e:  # noqa: BLE001
    print("ANATERR =panel", repr(e))
