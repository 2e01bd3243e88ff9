# Two commands set everything up on a fresh machine with Python 3.11 and make:
#   make demo   creates .venv, installs, runs the whole pipeline on the offline snapshot
#   make test   creates .venv, installs, runs ruff and the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Prefect keeps its state (SQLite database, settings) here, not in the user's home.
export PREFECT_HOME ?= $(CURDIR)/data/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test lint install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p "$(PREFECT_HOME)"
	$(BIN)/newswatch demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	mkdir -p "$(PREFECT_HOME)"
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
