"""kWh, period kWh and yen with single-precision floats (the ESP32's) and double precision (CPython, wasm).

Each case is one where float32 and float64 arithmetic give different numbers; the expected values are
worked out by hand in the comments. `make test-mp32` runs this file on the 32-bit single-precision
MicroPython, `make test-mp` on the wasm build (double), pytest on CPython (double).
"""

import meter
from billing import tariff
from testkit import skip

FLOAT32 = 16777217.0 == 16777216.0  # 2**24 + 1 has no single-precision float


def test_cumulative_kwh_beyond_2_to_the_24_counts():
    # 16,777,217 counts x 0.1 kWh = 1,677,721.7 kWh (exactly, in decimal).
    v = meter.to_kwh(16777217, None, meter.unit_kwh(0x01))
    if FLOAT32:
        # float32 has no 1,677,721.7: its neighbours are 1,677,721.625 and 1,677,721.75 (0.125 apart);
        # 1,677,721.75 is the nearer (0.05 away). Turning the count into a float first gives
        # 16,777,216 / 10 = 1,677,721.6 -> 1,677,721.625, a tenth of a kWh short.
        assert v * 8 == 13421774, v  # 1,677,721.75 x 8, an integer float32 holds exactly
    else:
        assert v == 1677721.7, v
    # with a coefficient: 1,677,721 x 10 = 16,777,210 counts x 0.1 kWh = 1,677,721.0 kWh, exact in both
    assert meter.to_kwh(1677721, 10, 0.1) == 1677721


def test_period_kwh_is_the_integer_difference_scaled_once():
    # 16,777,300 - 16,777,217 = 83 counts x 0.1 kWh = 8.3 kWh. Scaling each reading first and then
    # subtracting gives 1,677,730.0 - 1,677,721.625 = 8.375 in float32 (8.2999999998 in float64).
    assert meter.delta_kwh(16777300, 16777217, 8, None, 0.1) == 8.3
    # the same counts at 0.01 kWh: 83 x 0.01 = 0.83 kWh; with coefficient 10: 830 x 0.1 = 83.0 kWh
    assert meter.delta_kwh(16777300, 16777217, 8, None, 0.01) == 0.83
    assert meter.delta_kwh(16777300, 16777217, 8, 10, 0.1) == 83
    # an 8-digit counter that wrapped: 100,000,000 - 99,999,990 + 5 = 15 counts x 0.1 kWh = 1.5 kWh
    assert meter.delta_kwh(5, 99999990, 8, None, 0.1) == 1.5


def test_yen_where_a_float32_sum_floors_one_yen_high():
    t = tariff.load("tepco_b")
    # 40 A, 308.57 kWh: 1,247.00 + 120 x 29.80 (3,576.00) + 180 x 36.40 (6,552.00)
    #   + 8.57 x 40.49 (346.9993) = 11,721.9993 yen -> 11,721. Summed in float32: 11,722.
    assert t.charge(40, 308.57) == 11721
    # 40 A, 415.51 kWh: 1,247.00 + 3,576.00 + 6,552.00 + 115.51 x 40.49 (4,676.9999)
    #   = 16,051.9999 yen -> 16,051. Summed in float32: 16,052.
    assert t.charge(40, 415.51) == 16051
    # 40 A, 1,000 kWh: 1,247.00 + 3,576.00 + 6,552.00 + 700 x 40.49 (28,343.00) = 39,718.00 yen exactly
    assert t.charge(40, 1000) == 39718


def test_the_vm_divides_ints_in_its_own_float_width():
    """int / int rounds to the VM's float width: float32 rounds each int first, as the ESP32's FPU does."""
    if not FLOAT32:
        assert 16777217 / 10 == 1677721.7  # double holds 16,777,217 exactly
        return
    if 16777217 / 10 != float(16777217) / 10:
        # an x86 build using the x87 FPU keeps 80-bit intermediates (C's FLT_EVAL_METHOD 2):
        # its int / int is more precise than the device's, so float32 results here can differ
        skip(
            "this VM divides ints with x87 extended precision, not like the ESP32: rebuild it with"
            " CFLAGS_EXTRA='-msse2 -mfpmath=sse' (float32 arithmetic in SSE registers)"
        )
    assert (16777217 / 10) * 8 == 13421773  # 16,777,216 / 10 = 1,677,721.6 -> 1,677,721.625 (x 8)
