"""The whole app for a simulated day in a MicroPython VM with the M5StickC's heap (day.py)."""
