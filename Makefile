# SmartMeter: B-route smart meter display for M5StickC + BP35A1 (MicroPython).
# Every target bootstraps what it needs (.venv from requirements-dev.txt,
# the pinned MicroPython webassembly build under tools/mpwasm/node_modules).

PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
MPWASM  := tools/mpwasm/node_modules/@micropython/micropython-webassembly-pyscript/package.json
MPRUN   := node tools/mpwasm/run.mjs
# the device-shaped MicroPython (32-bit, single-precision floats): make test-mp32
MP32    ?= $(or $(MICROPYTHON_ESP32LIKE),../shared/tools/micropython-esp32like/micropython)
PORT    ?= /dev/ttyUSB0
CONFIG  ?= SmartMeter.json
SERIAL  ?=
SIM_ARGS ?=

.PHONY: all venv mpwasm test test-host test-mp test-mp32 test-count mpy-check lint typecheck decode bench bench-driver bench-mp sim run screenshots deploy selftest clean

all: test

$(VPY): requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements-dev.txt
	touch $(VPY)

venv: $(VPY)

$(MPWASM): tools/mpwasm/package.json
	cd tools/mpwasm && npm ci --no-audit --no-fund --loglevel=error
	touch $(MPWASM)

mpwasm: $(MPWASM)

## test: everything CI checks (lint, types, mpy-cross, CPython tests, MicroPython tests)
test: lint typecheck mpy-check test-mp test-mp32 test-host

test-host: $(VPY)
	$(VPY) -m pytest -q host_tests

## test-mp: host_tests/common/ on the official MicroPython webassembly build (double-precision floats)
test-mp: $(MPWASM)
	$(MPRUN) --dir lib:/lib --dir sim:/sim --path /sim --dir host_tests/common:/tests tools/mptest.py /tests

## test-mp32: host_tests/common/ on the 32-bit single-precision MicroPython, the ESP32's float arithmetic
test-mp32:
	@test -x "$(MP32)" || { echo "test-mp32: no MicroPython at $(MP32). Build MicroPython v1.27.0's unix port"\
	  "32-bit with single-precision floats (MICROPY_FORCE_32BIT=1 CFLAGS_EXTRA=-DMICROPY_FLOAT_IMPL=MICROPY_FLOAT_IMPL_FLOAT;"\
	  "recipe: ../shared/tools/micropython-esp32like/build.sh and README.md) and give it as MP32=/path/to/micropython"; exit 1; }
	@"$(MP32)" -c "import sys; sys.exit(0 if 16777217.0 == 16777216.0 else 1)" \
	  || { echo "test-mp32: $(MP32) has double-precision floats; the ESP32 has single"; exit 1; }
	MICROPYPATH=lib:sim:host_tests/common "$(MP32)" -X heapsize=16M tools/mptest.py host_tests/common

## test-count: how many tests of lib/ run on CPython, and how many of them on MicroPython too
test-count: $(VPY)
	$(VPY) tools/test_count.py

mpy-check: $(VPY)
	$(VPY) tools/mpy_check.py firmware lib

lint: $(VPY)
	$(VENV)/bin/ruff check .

typecheck: $(VPY)
	$(VENV)/bin/basedpyright -p pyrightconfig.device.json
	$(VENV)/bin/basedpyright -p pyrightconfig.host.json

## decode: read ERXUDP lines or hex ECHONET frames on stdin, print JSON per line
decode: $(VPY)
	@$(VPY) host/decode.py

## bench: session driver against the simulator; code heap per module (a breakdown); the whole app for 24 simulated
## hours with faults in the device-shaped MicroPython with the M5StickC's 111,936-byte heap, ending with
## the BENCH line (fails when live heap > 72 KB, a MemoryError, a failed 8 KB allocation, a refresh
## cycle of 4 KB or more, or a lost Ambient record)
bench: bench-driver bench-mp

## bench-driver: the session driver against the simulator (its targets) and the heap per module (a breakdown)
bench-driver: $(VPY) $(MPWASM)
	$(VPY) tools/bench.py
	$(VPY) tools/heap_report.py

## bench-mp: only the device day of make bench (24 simulated hours in the 111,936-byte heap)
bench-mp: $(VPY)
	$(VPY) tools/device_day/day.py --hours 24 --vm "$(MP32)"

## screenshots: render every screen to PNG under docs/screens/
screenshots: $(VPY)
	$(VPY) tools/screenshots.py

## sim: the app against the built-in BP35A1 + meter simulator (no hardware)
sim: $(VPY)
	$(VPY) host/run.py --sim $(if $(filter-out SmartMeter.json,$(CONFIG)),--config $(CONFIG)) $(SIM_ARGS)

## run: host mode with a USB Wi-SUN dongle: make run CONFIG=SmartMeter.json SERIAL=/dev/ttyUSB0
run: $(VPY)
	@if [ -z "$(SERIAL)" ]; then echo "make run needs the Wi-SUN dongle's port: make run SERIAL=/dev/ttyUSB0 (ls /dev/ttyUSB* /dev/ttyACM*)"; exit 2; fi
	$(VPY) host/run.py --config $(CONFIG) --serial $(SERIAL)

## deploy: compile with mpy-cross and copy to the M5StickC: make deploy PORT=/dev/ttyUSB0
deploy: $(VPY)
	$(VPY) tools/deploy.py --port $(PORT) --config $(CONFIG) $(if $(EXTRA),--extra $(EXTRA))

## selftest: check board, LCD, buttons, BP35A1, Wi-Fi, NTP, Ambient on the device (never joins the meter);
## runs firmware/selftest.py with mpremote, the modules and $(CONFIG) mounted from build/selftest
SELFTEST := firmware/selftest.py firmware/board.py firmware/st77xx.py firmware/axp192.py firmware/buttons.py \
	firmware/wifi.py firmware/netclock.py lib/ticks.py lib/log.py
selftest: $(VPY)
	rm -rf build/selftest && mkdir -p build/selftest
	ln -s $(abspath $(SELFTEST)) build/selftest/
	if [ -f "$(CONFIG)" ]; then ln -s "$(abspath $(CONFIG))" build/selftest/SmartMeter.json; fi
	$(VENV)/bin/mpremote connect $(PORT) mount -l build/selftest run firmware/selftest.py

clean:
	rm -rf $(VENV) tools/mpwasm/node_modules build .pytest_cache .hypothesis
