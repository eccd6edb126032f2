# CityBrain — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
export CITYBRAIN_HOME ?= $(CURDIR)/var
export SPARK_LOCAL_IP ?= 127.0.0.1
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

.PHONY: setup demo serve test test-sqlite test-postgres lint bench browser clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --quiet --python $(PY) -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/citybrain demo

serve: setup
	$(VENV)/bin/citybrain serve

# headless Chromium for the browser tests, from Debian's packages (never a downloaded browser build)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian's chromium package for the browser tests"; fi; }

test: setup browser
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	@if [ "$$CI" = "true" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  echo "== the whole suite again on PostgreSQL =="; \
	  CITYBRAIN_TEST_DATABASE_URL=$(PG_TEST_URL) $(VENV)/bin/pytest -q -p no:cacheprovider -m "not spark and not browser and not slow" $(PYTEST_ARGS); \
	fi

test-sqlite: setup
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

test-postgres: setup
	CITYBRAIN_TEST_DATABASE_URL=$(PG_TEST_URL) $(VENV)/bin/pytest -q $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

# every bench/bench_*.py at a small scale (a few minutes; figures in bench/results/quick/);
# `make bench BENCH_ARGS=--full` for the published figures in bench/results/
bench: setup
	$(UV) pip install --quiet --python $(PY) -e '.[dev,bench]'
	mkdir -p bench/results
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache
