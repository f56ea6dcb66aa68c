# Körpü: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export KORPU_ENV ?= dev

.PHONY: install compile-messages run test lint typecheck pytest migrate seed clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) compile-messages

## gettext catalogs: backend/i18n/locales/*/LC_MESSAGES/messages.po -> .mo
compile-messages: $(STAMP)
	$(BIN)/pybabel compile --domain messages --directory backend/i18n/locales

migrate: install
	$(BIN)/korpu db upgrade

seed: migrate
	$(BIN)/korpu demo seed

## make run: install, migrate the embedded SQLite database, load demo data, serve on 127.0.0.1:8000
## (with the mock partner bank on 127.0.0.1:8100 and an outbox worker beside it)
run: seed
	$(BIN)/korpu demo run

lint: install
	$(BIN)/ruff check sqldirect backend ledger fx compliance mobile_api tests docs/scripts
	$(BIN)/ruff format --check sqldirect backend ledger fx compliance mobile_api tests docs/scripts

typecheck: install
	$(BIN)/mypy

# Two processes: each has its own PostgreSQL database and SQLite files, so tests stay isolated.
PYTEST_ARGS ?= -n 2
pytest: install
	KORPU_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

## make test: install, lint, type-check, and run the whole suite (SQLite, and PostgreSQL when
## KORPU_TEST_DATABASE_URL is set)
test: lint typecheck pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
