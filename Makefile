# Guarita — the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
GUARITA := .venv/bin/guarita
export GUARITA_PORT ?= 8000

.PHONY: cluster cluster-stop loadtest run test setup python frontend system-deps translations migrate demo lint fuzz crash bench screenshots clean

## run: set up, migrate, load the demo when the database is empty, and serve Guarita and the
## demo portal (GUARITA_PORT and GUARITA_PORT+1)
run: setup
	scripts/run-dev.sh

## test: set up everything (Debian packages included), lint, and run the whole suite: on
## TEST_WORKERS processes (pytest-xdist), then the timing and process tests alone (docs/testing.md)
TEST_WORKERS ?= 2
test: system-deps setup lint
	TEST_WORKERS=$(TEST_WORKERS) scripts/test-all.sh

setup: python frontend translations

python:
	@scripts/setup-python.sh

frontend:
	@scripts/setup-frontend.sh

translations: python
	@$(PY) -m babel.messages.frontend compile -d src/guarita/web/locale -D messages --statistics >/dev/null 2>&1 || true

system-deps:
	@scripts/system-deps.sh

migrate: setup
	$(GUARITA) migrate

demo: setup
	$(GUARITA) demo

## lint: ruff, and the layers of DESIGN.md › Layout (import-linter contracts in pyproject.toml)
lint: python
	.venv/bin/ruff check src tests bench
	.venv/bin/lint-imports

clean:
	rm -rf .venv .tools frontend/node_modules src/guarita/web/static/vendor var artifacts

## screenshots: the browser journeys again; every page at 360 and 1280 px in artifacts/screenshots
screenshots: system-deps setup
	scripts/test.sh tests/e2e -m journey -q

## fuzz: schemathesis with more cases per operation and a random seed (FUZZ_EXAMPLES, FUZZ_SEED)
fuzz: system-deps setup
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} FUZZ_SEED=$${FUZZ_SEED:-random} scripts/test.sh tests/fuzz -q

## crash: kill -9 of a two-worker server, 20 times per backend (CRASH_KILLS, CRASH_SEED)
crash: system-deps setup
	CRASH_KILLS=$${CRASH_KILLS:-20} scripts/test.sh tests/crash -q -s

## cluster: PostgreSQL 15, PgBouncer, two servers, one worker and HAProxy on loopback
## (CLUSTER_PORT: 8300, or a free block when taken, kept in var/cluster/port; docs/scale.md);
## cluster-stop stops it and keeps var/cluster
cluster: system-deps setup
	scripts/cluster/start.sh

cluster-stop:
	scripts/cluster/stop.sh

## loadtest: locust, headless, mixed load at 70 % of the capacity probed first, for
## LOADTEST_MINUTES (1: a quick check; 10 for the figures of record) against LOADTEST_TARGET:
## single (one server), cluster (`make cluster`, left running) or both (docs/scale.md)
LOADTEST_MINUTES ?= 1
LOADTEST_TARGET ?= $(or $(TARGET),single)
loadtest: system-deps setup
	scripts/loadtest.sh --target $(LOADTEST_TARGET) --minutes $(LOADTEST_MINUTES) $(LOADTEST_ARGS)
