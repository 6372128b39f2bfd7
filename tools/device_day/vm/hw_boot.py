"""The device day's set-up inside the capped VM, run once by day_boot and then dropped (its
bytecode freed): mounts the flash folder at / (/lib, /main.py, /SmartMeter.json and the files the
app writes) and the stand-ins at /standins, connects to the harness, seeds sys.modules with the
stand-ins for time, machine, gc, network, ntptime and socket, and arms the make_record spy."""

import os
import sys

os.umount("/")
os.mount(os.VfsPosix(os.getenv("DAY_FLASH")), "/")
os.mount(os.VfsPosix(os.getenv("DAY_STANDINS")), "/standins")
os.chdir("/")
sys.path[:] = ["/standins", "", ".frozen", "/lib"]
import hw_time  # noqa: E402

hw_time.connect(os.getenv("DAY_LINK"))
import hw_machine  # noqa: E402
import hw_network  # noqa: E402

sys.modules["time"] = hw_time
sys.modules["machine"] = hw_machine
sys.modules["gc"] = hw_network.Gc
sys.modules["network"] = hw_network.Net
sys.modules["ntptime"] = hw_network.Ntp
sys.modules["socket"] = hw_network.Sock
hw_time.hook = hw_time.spy_hook
hw_time.hello()
