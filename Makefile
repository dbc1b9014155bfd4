# obs — every task a person or CI runs. On a fresh machine:
#   make run    set up, generate every tier, render and validate the chart, print a summary
#   make test   set up, then run the whole test suite (what .ci/run calls)
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup tools generate check-generated run test test-fast lint e2e preview clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

tools: $(STAMP)
	bash ci/install-tools.sh

setup: $(STAMP) tools

generate: $(STAMP)
	$(VENV)/bin/obsgen generate

check-generated: $(STAMP)
	$(VENV)/bin/obsgen generate --check

run: setup
	$(PY) ci/main_job.py

lint: $(STAMP)
	$(VENV)/bin/ruff check generator reference-service tests ci benchmarks
	$(VENV)/bin/ruff format --check generator reference-service tests ci benchmarks

test: setup lint check-generated
	$(VENV)/bin/pytest -n 2 tests

# The edit-test loop: everything but the live binaries (e2e, engine) and the few
# slow tests (promtool scenario runs, fuzzing, the 100-service limits).
test-fast: setup
	$(VENV)/bin/pytest -n 2 -q -m "not e2e and not slow and not engine" tests

e2e: setup
	$(VENV)/bin/pytest -m e2e tests

# The stack on localhost for a person, until Ctrl-C (README "Local preview").
# Options: make preview PREVIEW_ARGS='--tier advanced --port-base 29090'
preview: setup
	$(PY) ci/preview.py $(PREVIEW_ARGS)

clean:
	rm -rf $(VENV) .tools .pytest_cache
