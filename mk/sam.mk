# SAM tooling: included by the top-level Makefile.
#   make sam-venv         aws-sam-cli in its own virtualenv (.venv-sam): it pins many packages
#   make lint-template    cfn-lint + `sam validate --lint` on template.yaml (offline)
#   make sam-build-check  `sam build` without Docker (pip-installs the bundles from PyPI)
# The variables below default to the top-level Makefile's, so this file also works on its own:
#   make -f mk/sam.mk lint-template

SAM_VENV ?= .venv-sam
SAM_BIN := $(SAM_VENV)/bin
SAM_CLI_VERSION ?= 1.170.0
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
VENV ?= .venv
BIN ?= $(VENV)/bin
PIP_QUIET ?= --quiet --disable-pip-version-check

# A python3.12 that really runs (the top-level Makefile sets it from the same probe).
SAM_PYTHON ?= $(shell for p in $(PYENV_ROOT)/versions/3.12.*/bin/python3.12 \
	$$(command -v python3.12 2>/dev/null); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 \
	&& { echo "$$p"; break; }; done)

# sam build (without Docker) runs `python3.12 -m pip` from PATH for the python3.12 runtime.
SAM_ENV := AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} SAM_CLI_TELEMETRY=0 \
	PATH="$(abspath $(dir $(SAM_PYTHON))):$$PATH"

.PHONY: sam-venv lint-template sam-build-check

$(SAM_BIN)/.installed:
	@test -n "$(SAM_PYTHON)" || { echo "python3.12 not found (PATH or $(PYENV_ROOT)/versions/3.12.*)"; exit 1; }
	@echo "==> creating $(SAM_VENV) with $(SAM_PYTHON) (aws-sam-cli==$(SAM_CLI_VERSION))"
	$(SAM_PYTHON) -m venv $(SAM_VENV)
	$(SAM_BIN)/pip install $(PIP_QUIET) --upgrade pip
	$(SAM_BIN)/pip install $(PIP_QUIET) aws-sam-cli==$(SAM_CLI_VERSION)
	@touch $@

sam-venv: $(SAM_BIN)/.installed

lint-template: $(SAM_BIN)/.installed
	$(BIN)/cfn-lint template.yaml
	$(SAM_ENV) $(SAM_BIN)/sam validate --lint --template template.yaml

sam-build-check: $(SAM_BIN)/.installed
	@test -n "$(SAM_PYTHON)" || { echo "python3.12 not found: sam build needs it on PATH"; exit 1; }
	@start=$$(date +%s); \
	$(SAM_ENV) $(SAM_BIN)/sam build --template template.yaml --build-dir .aws-sam/build \
		--parallel --cached && \
	echo "sam build took $$(( $$(date +%s) - start )) s"
