# Two commands: `make run` (set up everything, run 2018-01 … 2025-12, publish) and `make test`.
# `ipkpi run` does every set-up step of `ipkpi setup` itself (idempotent) before it triggers the run.
# Ports and paths: IPKPI_PG_PORT, IPKPI_AIRFLOW_PORT, IPKPI_SANDBOX_PORT, IPKPI_HOME (README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FROM ?= 2018-01
TO ?= 2025-12

.PHONY: run setup test stop status lock clean-state

run: $(VENV)/.installed
	@scripts/system-deps.sh
	$(BIN)/ipkpi run --from $(FROM) --to $(TO)

setup: $(VENV)/.installed
	@scripts/system-deps.sh
	$(BIN)/ipkpi setup

test: $(VENV)/.installed
	@scripts/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

stop:
	@if [ -x $(BIN)/ipkpi ]; then $(BIN)/ipkpi stop; fi

status: $(VENV)/.installed
	$(BIN)/ipkpi status

# The venv, from the fully pinned lock (re-made when the lock or the project metadata change).
$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

# Re-resolve requirements.in into requirements.lock in a throw-away venv.
lock:
	rm -rf /tmp/ipkpi-lock && $(PYTHON) -m venv /tmp/ipkpi-lock
	/tmp/ipkpi-lock/bin/pip install -q --upgrade pip && /tmp/ipkpi-lock/bin/pip install -q -r requirements.in
	/tmp/ipkpi-lock/bin/pip freeze > requirements.lock

clean-state: stop
	rm -rf var
