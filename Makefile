# Two commands matter: `make demo` and `make test`. Both set everything up on a fresh machine
# that has Python 3.11+ (a virtualenv in .venv with the project and its dev dependencies).

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The official AsyncAPI parser, pinned in tests/asyncapi/package-lock.json, for
# tests/e2e/test_asyncapi_document.py; installed by the tests when npm is on PATH.
ASYNCAPI_PARSER := tests/asyncapi/node_modules/.installed
NPM := $(shell command -v npm 2>/dev/null)
TEST_DEPS := $(STAMP) $(if $(NPM),$(ASYNCAPI_PARSER))

# The tests run in parallel worker processes (pytest-xdist): most of their time is spent waiting
# on subprocesses, nats-server and PostgreSQL, so four workers help on CI's two cores, and four
# keep the connections to the shared PostgreSQL bounded. The longest tests come first
# (tests/conftest.py) and are handed out one at a time (--maxschedchunk 1: by default a worker is
# given a quarter of its share at once, all of the longest tests among them).
# `make test PYTEST_WORKERS=0` runs them in one process.
PYTEST_WORKERS ?= 4
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist load --maxschedchunk 1

# the benchmark's synthetic logs, built once and reused (1M events: about 1 GB)
BENCH_LOGS ?= .bench-logs

.PHONY: setup demo test test-under-load unit integration e2e lint typecheck bench bench-quick asyncapi-parser clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3.11+ on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

$(ASYNCAPI_PARSER): tests/asyncapi/package.json tests/asyncapi/package-lock.json
	cd tests/asyncapi && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

asyncapi-parser: $(ASYNCAPI_PARSER)

demo: $(STAMP)
	$(BIN)/paddock demo --lemans

test: $(TEST_DEPS)
	$(PYTEST)

# The same suite while two busy loops per core compete (tests must wait on progress, not timers).
test-under-load: $(STAMP)
	$(BIN)/python -m tests.under_load

unit: $(STAMP)
	$(PYTEST) tests/unit

integration: $(STAMP)
	$(PYTEST) tests/integration

e2e: $(TEST_DEPS)
	$(PYTEST) tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.service_bench
	$(BIN)/python -m bench.cli_startup
	$(BIN)/python -m bench.router_bench
	$(BIN)/python -m bench.query_bench --full --dir $(BENCH_LOGS)
	$(BIN)/python -m bench.query_service_bench --full --dir $(BENCH_LOGS)
	$(BIN)/python -m bench.serve_memory_bench --full --dir $(BENCH_LOGS)
	$(BIN)/python -m bench.catchup_bench --logs $(BENCH_LOGS)
	$(BIN)/python -m bench.resume_bench --logs $(BENCH_LOGS) --fold-max 100000
	$(BIN)/python -m bench.split_bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench.service_bench --quick
	$(BIN)/python -m bench.cli_startup --quick
	$(BIN)/python -m bench.router_bench --quick
	$(BIN)/python -m bench.query_bench --quick
	$(BIN)/python -m bench.query_service_bench --quick
	$(BIN)/python -m bench.serve_memory_bench --quick
	$(BIN)/python -m bench.catchup_bench --quick
	$(BIN)/python -m bench.resume_bench --quick
	$(BIN)/python -m bench.split_bench --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis tests/asyncapi/node_modules
