# obs — every task a person or CI runs. On a fresh machine:
#   make run    set up, generate every tier, render and validate the chart, print a summary
#   make test   set up, then run the whole test suite (what .ci/run calls)
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup tools generate check-generated run test lint e2e clean

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
	$(VENV)/bin/ruff check generator tests ci
	$(VENV)/bin/ruff format --check generator tests ci

test: setup lint check-generated
	$(VENV)/bin/pytest -n 2 tests

e2e: setup
	$(VENV)/bin/pytest -m e2e tests

clean:
	rm -rf $(VENV) .tools .pytest_cache
