# coalmine: the two commands a new user needs are `make demo` and `make test`.
# Both create what they need themselves (a Python 3.12 virtualenv in .venv, and aws-sam-cli in
# its own virtualenv .venv-sam because it pins many packages; checkov likewise in .venv-checkov).
SHELL := /bin/bash
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
# A python3.12 that really runs: a pyenv shim named python3.12 can exist on PATH even when 3.12 is
# not the selected pyenv version (and then fails), so each candidate is tried, not just found.
PYTHON312 := $(shell for p in $(PYENV_ROOT)/versions/3.12.*/bin/python3.12 \
	$$(command -v python3.12 2>/dev/null); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 \
	&& { echo "$$p"; break; }; done)
SAM_PYTHON := $(PYTHON312)
PYTHON ?= $(or $(PYTHON312),python3)
VENV := .venv
BIN := $(VENV)/bin
PIP_QUIET := --quiet --disable-pip-version-check
# The sample functions are no packages of the install (the sandbox runs them from their CodeUri
# with their layers); the import checks find them where their Lambda bundles have them.
SAMPLES_PATH := PYTHONPATH=functions/brand_api:functions/brand_api_smoke:functions/asset_processor:functions/sample_faults

.PHONY: help install demo rehearse test unit lint format bench clean chromium pictures

help:
	@echo "make demo   - run a healthy and a faulty canary of brand-api in the local sandbox"
	@echo "make test   - lint, ASL/template checks, unit, integration and sandbox end-to-end tests"
	@echo "make bench  - the rehearsal speed benchmark (prints wall seconds)"
	@echo "make pictures - redraw docs/img/{healthy,faulty}-canary.png from the demo's canaries"

$(BIN)/.installed: pyproject.toml
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip
	$(BIN)/pip install $(PIP_QUIET) -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/coalmine demo

rehearse: install
	$(BIN)/coalmine rehearse $(SCENARIO)

test: install sam-venv checkov-venv chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(SAMPLES_PATH) $(BIN)/lint-imports
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit -q

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The report's browser tests and `coalmine report --png` need a headless Chromium: Debian's.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; }

# The README's pictures: the demo's two canaries rehearsed and drawn (docs/report.md).
PICTURES := healthy-canary faulty-canary
pictures: install chromium
	@mkdir -p out/pictures docs/img
	@for name in $(PICTURES); do \
	  $(BIN)/coalmine rehearse $$name --json out/pictures/$$name.json >/dev/null && \
	  $(BIN)/coalmine report out/pictures/$$name.json -o out/pictures/$$name.html --png && \
	  cp out/pictures/$$name.png docs/img/$$name.png || exit 1; \
	done
	@echo "pictures: docs/img/healthy-canary.png docs/img/faulty-canary.png"

bench: install
	$(BIN)/python -m bench.rehearsal_speed
	$(BIN)/python -m bench.canary_bench
	$(BIN)/python -m bench.grid
	$(BIN)/python -m bench.sandbox_speed

clean:
	rm -rf $(VENV) .venv-sam .venv-checkov .aws-sam .pytest_cache .ruff_cache out

include mk/sam.mk
include mk/checkov.mk
include mk/lock.mk
