# SmartMeter /boot.py: runs before every main.py and after every soft reset, mpremote's included.
# A soft reset keeps the app's watchdog running but deletes the Timer that fed it at the REPL:
# feed it again (firmware/watchdog.py) until the app, if it starts, feeds it itself.
import machine

if machine.reset_cause() == machine.SOFT_RESET:
    import watchdog

    watchdog.start()
    del watchdog
