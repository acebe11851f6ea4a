# Countersign: `make run` serves the embedded default; `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PORT ?= 5000
export PORT
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

.PHONY: run test lint format venv dev clean-instance bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV): requirements.txt requirements-dev.txt $(RUNTIME)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(RUNTIME)
dev: $(DEV)

## Migrate, seed the demo and serve http://127.0.0.1:$(PORT) on the embedded default.
run: $(RUNTIME)
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo seed
	@echo "Serving Countersign on http://127.0.0.1:$(PORT)  (stop with Ctrl-C)"
	@echo "Try the agent panel at http://127.0.0.1:$(PORT)/demo and read mail at /dev/mail"
	$(BIN)/gunicorn --preload --bind 127.0.0.1:$(PORT) --workers 1 --threads 8 \
		--access-logfile /dev/null --error-logfile - wsgi:app

## The test suite. Set TEST_DATABASE_URL / TEST_REDIS_URL to run it on PostgreSQL and Redis.
test: $(DEV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(RUNTIME)
	$(BIN)/python bench/api_requests.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/signing.py
	$(BIN)/python bench/crm_writeback.py
