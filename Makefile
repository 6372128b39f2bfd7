# SmartMeter: B-route smart meter display for M5StickC + BP35A1 (MicroPython).
# Every target bootstraps what it needs (.venv from requirements-dev.txt,
# the pinned MicroPython webassembly build under tools/mpwasm/node_modules).

PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
MPWASM  := tools/mpwasm/node_modules/@micropython/micropython-webassembly-pyscript/package.json
MPRUN   := node tools/mpwasm/run.mjs
PORT    ?= /dev/ttyUSB0
CONFIG  ?= SmartMeter.json
SERIAL  ?=
SIM_ARGS ?=

.PHONY: all venv mpwasm test test-host test-mp mpy-check lint typecheck decode bench bench-mp sim run screenshots deploy clean

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
test: lint typecheck mpy-check test-mp test-host

test-host: $(VPY)
	$(VPY) -m pytest -q host_tests

test-mp: $(MPWASM)
	$(MPRUN) --dir lib:/lib --dir sim:/sim --path /sim --dir host_tests/common:/tests tools/mptest.py /tests

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

## bench: session driver against the simulator; code heap per module; the whole app on MicroPython
## for a simulated day (fails when the app stops working, a cycle allocates 4 KB or more, the heap
## grows, or the live heap passes an 84 KB regression guard; the report still gives the 60 KB verdict)
bench: $(VPY) $(MPWASM)
	$(VPY) tools/bench.py
	$(VPY) tools/heap_report.py --budget 65536
	$(VPY) tools/mp_app_day.py --hours 24 --heap-guard 86016

## bench-mp: the whole app on MicroPython for a simulated day; exits 1 while the 60 KB heap budget is missed
bench-mp: $(VPY) $(MPWASM)
	$(VPY) tools/mp_app_day.py --hours 24

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

clean:
	rm -rf $(VENV) tools/mpwasm/node_modules build .pytest_cache .hypothesis
