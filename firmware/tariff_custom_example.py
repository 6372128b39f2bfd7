"""Example tariff plug-in: copy it, edit the numbers, name it in the config.

Use it with "charge_func": "tariff_custom_example" in SmartMeter.json (or
"tariff_custom_example.charge"; rename the file for your own plan). The file
sits next to the app on the device, so it is on sys.path. The app imports it
once at start-up and calls

    charge(contract_amperage, kwh) -> yen

with contract_amperage an int (A, e.g. 30) and kwh a float (kWh since the
meter-reading day). Return a number of yen; the app floors it to whole yen.
A plug-in can do what the declarative "tariff" cannot: here a percentage
discount on the whole bill. See docs/tariffs.md.

The figures below are an example (TEPCO 従量電灯B tiers, 2026), not advice:
check them against your own bill.
"""

BASIC = {10: 311.75, 15: 467.63, 20: 623.50, 30: 935.25, 40: 1247.00, 50: 1558.75, 60: 1870.50}  # yen
TIERS = ((120, 29.80), (300, 36.40), (None, 40.49))  # (upper kWh or None, yen per kWh)
ADJUSTMENT_PER_KWH = -3.74  # fuel-cost adjustment + renewable levy, yen per kWh
DISCOUNT = 0.005  # 0.5 % gas + electricity set discount


def charge(contract_amperage, kwh):
    yen = BASIC[contract_amperage]
    low = 0
    for upper, rate in TIERS:
        if upper is None or kwh <= upper:
            yen += rate * (kwh - low)
            break
        yen += rate * (upper - low)
        low = upper
    yen += ADJUSTMENT_PER_KWH * kwh
    return max(0, yen * (1 - DISCOUNT))
