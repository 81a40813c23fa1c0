# Quick start: `make run` serves data/visible at http://127.0.0.1:8080; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

# Locked, hashed dependency sets for Python 3.11 on Linux x86_64 (`make lock` rewrites them):
# runtime.txt for the Docker image, dev.txt (runtime + the dev extra) for this venv and CI.
RUNTIME_LOCK := requirements/runtime.txt
DEV_LOCK := requirements/dev.txt
UV_VERSION := 0.13.9
LOCK_FLAGS ?=
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --custom-compile-command 'make lock (Python 3.11, Linux x86_64)' $(LOCK_FLAGS)

# Only `make run` serves the sample; tests and benchmarks configure themselves.
run: export DATA_DIR ?= data/visible
run: export BENCHMARK_FIXTURES_FILE ?= $(DATA_DIR)/benchmarks.json

.PHONY: install run test lint bench lock clean stack

install: $(VENV)/.installed

# A changed lock rebuilds the venv from scratch, so it holds exactly the locked set.
$(VENV)/.installed: pyproject.toml $(DEV_LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

run: install
	$(BIN)/analytics serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest --cov-fail-under=90

lint: install
	$(BIN)/ruff check src tests migrations bench ops
	$(BIN)/ruff format --check src tests migrations bench ops
	$(BIN)/lint-imports

# docker-compose.yml's services as local processes on loopback (PostgreSQL and Redis of this
# machine), every healthcheck waited for, every endpoint checked, all stopped (ops/stack.py).
stack: install
	$(BIN)/python -m ops.stack

# Re-resolve the locks from pyproject.toml, keeping current pins where they still fit;
# `make lock LOCK_FLAGS=--upgrade` (or `--upgrade-package NAME`) moves to newer releases.
# The runtime lock is constrained by the dev lock, so shared packages get the same versions.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(UV_COMPILE) pyproject.toml --extra dev -o $(DEV_LOCK)
	$(UV_COMPILE) pyproject.toml --constraint $(DEV_LOCK) -o $(RUNTIME_LOCK)

# Benchmarks (never part of `make test`): SCALE=small (default), 1m or 20m.
# The bench extra is not locked; it is added on top of the locked dev set.
SCALE ?= small
bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	bench/run.sh $(SCALE)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage
