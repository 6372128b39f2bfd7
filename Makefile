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

.PHONY: all venv mpwasm test test-host test-mp mpy-check lint typecheck decode bench sim run screenshots deploy clean

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
	$(MPRUN) --dir lib:/lib --dir host_tests/common:/tests tools/mptest.py /tests

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

clean:
	rm -rf $(VENV) tools/mpwasm/node_modules build .pytest_cache .hypothesis
