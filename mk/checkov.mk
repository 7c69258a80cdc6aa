# checkov: included by the top-level Makefile.
#   make checkov-venv   checkov in its own virtualenv (.venv-checkov): it pins many packages
#                       (boto3, networkx, ...) that would clash with the main .venv
#   make checkov        scan template.yaml offline (tests/unit/test_template.py runs the same)

CHECKOV_VENV ?= .venv-checkov
CHECKOV_BIN := $(CHECKOV_VENV)/bin
CHECKOV_VERSION ?= 3.3.30

.PHONY: checkov-venv checkov

$(CHECKOV_BIN)/.installed:
	@test -n "$(SAM_PYTHON)" || { echo "python3.12 not found (PATH or $(PYENV_ROOT)/versions/3.12.*)"; exit 1; }
	@echo "==> creating $(CHECKOV_VENV) with $(SAM_PYTHON) (checkov==$(CHECKOV_VERSION))"
	$(SAM_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_BIN)/pip install $(PIP_QUIET) --upgrade pip
	$(CHECKOV_BIN)/pip install $(PIP_QUIET) checkov==$(CHECKOV_VERSION)
	@touch $@

checkov-venv: $(CHECKOV_BIN)/.installed

checkov: $(CHECKOV_BIN)/.installed
	$(CHECKOV_BIN)/checkov --framework cloudformation --skip-download --quiet --compact -f template.yaml
