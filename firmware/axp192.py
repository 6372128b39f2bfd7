"""AXP192 power management IC (M5StickC, M5StickC Plus) on I2C address 0x34.

Powers the LCD (LDO3: logic, LDO2: backlight), sets up the charger, sets the
backlight level and reads the battery voltage. Register values from the AXP192
datasheet; the charger's from M5Unified (docs/hardware.md).
"""

from micropython import const

_POWER_OUT = const(0x12)  # output enables: bit 0 DCDC1, 2 LDO2, 3 LDO3, 4 DCDC2, 6 EXTEN
_LDO23_MV = const(0x28)  # upper nibble LDO2, lower nibble LDO3: (mV - 1800) / 100
_BAT_V = const(0x78)  # battery voltage, 12 bits: 0x78 bits 11-4, 0x79 bits 3-0; 1.1 mV per LSB
_ADC_EN1 = const(0x82)  # ADC enables
_VBUS_PATH = const(0x30)  # VBUS-IPSOUT path management
_CHARGE1 = const(0x33)  # charge control 1: enable, target voltage, end current, current

_LDO2_ON = const(0x04)


class AXP192:
    def __init__(self, i2c, addr=0x34):
        self._i2c = i2c
        self._addr = addr
        self._buf = bytearray(2)
        self._one = memoryview(self._buf)[:1]

    def _read(self, reg):
        self._i2c.readfrom_mem_into(self._addr, reg, self._one)
        return self._buf[0]

    def _write(self, reg, value):
        self._buf[0] = value
        self._i2c.writeto_mem(self._addr, reg, self._one)

    def setup(self):
        """LDO2 (backlight) and LDO3 (LCD logic) at 3.0 V; DCDC1, LDO2, LDO3 and EXTEN on.

        Charger as M5Unified sets it for the StickC and Plus (80 mAh / 120 mAh battery):
        0x33 = 0xC0 charge on, 4.2 V, end below 10 %, 100 mA; 0x30 = 0x80 VBUS-IPSOUT path
        open whatever N_VBUSEN says, no VHOLD limit, no VBUS current limit."""
        self._write(_LDO23_MV, 0xCC)
        self._write(_POWER_OUT, (self._read(_POWER_OUT) & 0xEF) | 0x4D)
        self._write(_CHARGE1, 0xC0)
        self._write(_VBUS_PATH, 0x80)

    def backlight(self, percent):
        """0 = off; 1-100 % -> LDO2 2,500-3,200 mV."""
        out = self._read(_POWER_OUT)
        if percent <= 0:
            self._write(_POWER_OUT, out & ~_LDO2_ON)
            return
        level = 7 + (min(percent, 100) * 7 + 50) // 100  # (2500 - 1800) / 100 = 7 ... 14
        self._write(_LDO23_MV, (self._read(_LDO23_MV) & 0x0F) | (level << 4))
        self._write(_POWER_OUT, out | _LDO2_ON)

    def battery_mv(self):
        """Battery voltage in mV."""
        self._write(_ADC_EN1, 0xFF)
        self._i2c.readfrom_mem_into(self._addr, _BAT_V, self._buf)
        return ((self._buf[0] << 4) | (self._buf[1] & 0x0F)) * 11 // 10
