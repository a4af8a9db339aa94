# Two commands matter: `make run` (the console phone) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install install-test run test lint messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/bot db upgrade
	$(BIN)/bot demo load
	$(BIN)/bot chat $(ARGS)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy

# Every benchmark in bench/, one after the other (takes many minutes; PostgreSQL as for tests).
bench: install-test
	$(BIN)/python bench/run_all.py

# After changing a user-facing string: extract, merge into every catalog, then translate.
messages: install-test
	$(BIN)/bot i18n update

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache .hypothesis
