# Guarita — the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
GUARITA := .venv/bin/guarita
export GUARITA_PORT ?= 8000

.PHONY: run test setup python frontend system-deps translations migrate demo lint fuzz crash bench screenshots clean

## run: set up, migrate, load the demo when the database is empty, and serve
run: setup
	$(GUARITA) migrate
	$(GUARITA) demo --if-empty
	$(GUARITA) serve

## test: set up everything (Debian packages included) and run the whole suite
test: system-deps setup
	scripts/test.sh

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

lint: python
	.venv/bin/ruff check src tests bench

clean:
	rm -rf .venv .tools frontend/node_modules src/guarita/web/static/vendor var artifacts
