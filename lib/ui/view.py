"""What the screens show: each screen's fill(v, app, now) sets a View, its draw(fb, v) draws it.

Defaults live on the class, so a fresh View costs no per-field memory and an
unset field reads as its default. None means "unknown": the screen shows "--".
"""

STALE_S = 60  # s: a reading older than this is shown as stale, never as fresh

# Connecting steps, in order (View.step).
STEPS = ("wifi", "time", "scan", "join", "read")


class View:
    """Every field a screen needs, with units. The app sets what it knows."""

    # main screen
    power_w = None  # W, instantaneous; negative = export
    current_r_da = None  # 0.1 A, phase R (or the only phase)
    current_t_da = None  # 0.1 A, phase T (None on 1-phase 2-wire)
    contract_a = 30  # A, the contract (breaker) amperage
    period_kwh = None  # kWh since the meter-reading day (None while the wall clock is unset)
    charge_yen = None  # yen for period_kwh, an estimate (None while the wall clock is unset)
    forecast_yen = None  # yen expected at the end of the period (None: not drawn)
    export_kwh = None  # kWh exported since the meter-reading day (None or 0: not drawn)
    period = None  # (m1, d1, m2, d2): first and last day of the billing period, or None
    clock = None  # local time in minutes since midnight, or None (wall clock unset)
    age_s = None  # s since the reading was taken; None = no reading yet
    stale = None  # True/False forces the stale mark; None = from age_s (> STALE_S)
    tick = 0  # redraw count: screens alternate what does not fit at once on odd ticks
    # status line words: "ok", "off", "down"/"fail"/"error", else waiting ("join", "wait", "buffer")
    link = None  # Wi-SUN session: "ok", "join", "down", ...
    wifi = None  # Wi-Fi: "ok", "wait", "down", "off" (host mode)
    ambient = None  # Ambient: "ok", "buffer", "fail", "off"
    error = None  # last error in words, or None

    # connecting screen
    step = None  # one of STEPS, or None
    status = ""  # what happens now, e.g. session.status "Scanning (2/4)"
    progress = None  # 0..100, or None for no progress bar
    reason = None  # failure in words ("B-route ID rejected"), or None

    # today screen (today_wh also on main)
    today = None  # 48 x (Wh | None) per half hour since local midnight of today (never another day)
    today_wh = None  # Wh used today (the known half hours), or None

    # diagnostics screen
    channel = None  # Wi-SUN channel (int or hex str)
    pan_id = None  # PAN ID (int or hex str)
    lqi = None  # link quality 0..255
    version = None  # module firmware version (str)
    uptime_s = None  # s since boot
    free_heap = None  # bytes
    amb_ok = 0  # Ambient records sent
    amb_failed = 0  # Ambient sends that failed
    amb_buffered = 0  # Ambient records waiting in the backlog
    bill_flags = 0  # tariff.FUEL_OLD | LEVY_OLD | FUEL_NONE | LEVY_NONE: a month priced without its figure

    # config error screen
    problems = None  # list of str: "key: what is wrong"
    page = 0  # page of the problem list (wraps around)

    def is_stale(self):
        """True when the reading must be marked stale (older than STALE_S)."""
        if self.stale is not None:
            return self.stale
        return self.age_s is not None and self.age_s > STALE_S
