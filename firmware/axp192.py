"""AXP192 power management IC (M5StickC, M5StickC Plus) on I2C address 0x34.

Powers the LCD (LDO3: logic, LDO2: backlight), sets the backlight level and
reads the battery voltage. Register values from the AXP192 datasheet.
"""

from micropython import const

_POWER_OUT = const(0x12)  # output enables: bit 0 DCDC1, 2 LDO2, 3 LDO3, 4 DCDC2, 6 EXTEN
_LDO23_MV = const(0x28)  # upper nibble LDO2, lower nibble LDO3: (mV - 1800) / 100
_BAT_V = const(0x78)  # battery voltage, 12 bits: 0x78 bits 11-4, 0x79 bits 3-0; 1.1 mV per LSB
_ADC_EN1 = const(0x82)  # ADC enables

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

    def lcd_power_on(self):
        """LDO2 (backlight) and LDO3 (LCD logic) at 3.0 V; DCDC1, LDO2, LDO3 and EXTEN on."""
        self._write(_LDO23_MV, 0xCC)
        self._write(_POWER_OUT, (self._read(_POWER_OUT) & 0xEF) | 0x4D)

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
