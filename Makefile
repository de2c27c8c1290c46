PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser run test lint format schema migrations bench clean

install: $(STAMP)

# Debian's Chromium for the browser tests (tests/web); only `make test` needs it.
browser:
	@command -v chromium >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/switchboard demo

test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Writes the served schema's snapshot (docs/schema.graphql); tests/schema/test_schema_snapshot.py holds them equal.
schema: install
	$(BIN)/switchboard export-schema > docs/schema.graphql

# Format and lint (ruff), types (mypy --strict on everything the server runs), the layers (import-linter).
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerates models/migrations/0001_initial.py from the models (before the first release only).
migrations: install
	$(BIN)/python -m models.makemigrations

bench: install
	$(BIN)/python bench/sections.py

clean:
	rm -rf $(VENV) switchboard.db
