# Quick start: `make run` serves data/visible at http://127.0.0.1:8080; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

# Only `make run` serves the sample; tests and benchmarks configure themselves.
run: export DATA_DIR ?= data/visible
run: export BENCHMARK_FIXTURES_FILE ?= $(DATA_DIR)/benchmarks.json

.PHONY: install run test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: install
	$(BIN)/analytics serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest --cov-fail-under=90

lint: install
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/lint-imports

# Benchmarks (never part of `make test`): SCALE=small (default), 1m or 20m.
SCALE ?= small
bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	bench/run.sh $(SCALE)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage
