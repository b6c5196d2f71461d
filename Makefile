# The two commands: `make run` serves the API on SQLite and runs one queue worker beside it;
# `make test` runs every test on SQLite and on a PostgreSQL server it starts itself (and the
# pages in a headless Chromium and a Redis for the several-nodes test, installed when missing). Both
# start from a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 2
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
METRICS_DIR ?= instance/metrics

.PHONY: run test bench install postgres chromium redis clean

# The API under gunicorn and one `loyalty worker`; Ctrl-C (or SIGTERM) stops both.
run: $(RUN_STAMP)
	$(BIN)/loyalty db upgrade
	rm -rf $(METRICS_DIR) && mkdir -p $(METRICS_DIR)
	export PROMETHEUS_MULTIPROC_DIR=$(abspath $(METRICS_DIR)); \
	$(BIN)/loyalty worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	trap 'exit 0' INT TERM; \
	$(BIN)/gunicorn -c python:loyalty.gunicorn_conf --bind $(HOST):$(PORT) --workers $(WORKERS) wsgi:app

test: $(STAMP) postgres chromium redis
	LOYALTY_REQUIRE_BOTH_BACKENDS=1 $(BIN)/pytest --cov --cov-report=term

# Benchmarks on a PostgreSQL server the run starts itself, wrk as the load generator;
# writes bench/results.md (about 15 minutes: the HTTP and worker part 5-6, the jobs part generates
# 1,000,000 customers twice). BENCH_ONLY=http, jobs, import, events, reports or backtest runs one part.
bench: $(STAMP) postgres
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || \
	  { echo "wrk is missing: install Debian's wrk package" >&2; exit 1; }
	$(BIN)/python bench/run.py

install: $(STAMP)

# The service alone for `make run` (no test or dev tools); everything for the tests.
$(RUN_STAMP): setup.cfg setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): setup.cfg setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP) $(RUN_STAMP)

# PostgreSQL server binaries for the tests: Debian's package when they are missing.
postgres:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "PostgreSQL server binaries are missing: install the postgresql package" >&2; exit 1; fi
	@if [ "$$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then \
	  useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres; fi

# Debian's Chromium and its driver for the dashboard's browser tests, when they are missing.
chromium:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "Chromium is missing: install the chromium and chromium-driver packages" >&2; exit 1; fi

# Debian's redis-server for the several-nodes test (shared request limits), when missing.
redis:
	@if command -v redis-server >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	else echo "Redis is missing: install the redis-server package" >&2; exit 1; fi

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis .coverage
