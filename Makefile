# One entry point for developers. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export WANGGE_DATA_DIR ?= $(CURDIR)/var
PG_URL ?= postgres://postgres@127.0.0.1:5432/wangge

.PHONY: setup setup-demo setup-test demo serve test test-sqlite test-postgres lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installing also compiles the translation catalogues (.po → .mo, setup.py): run it again
# after a pull that changed a .po.
setup: $(BIN)/python
	$(BIN)/pip install --quiet -e .

# The demo's names come from Faker, which a production install does without.
setup-demo: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[demo]'

setup-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench]'

# The demo prints its accounts with passwords generated afresh on every run.
demo: setup-demo
	$(BIN)/wangge demo --serving
	$(BIN)/wangge serve --bind 127.0.0.1:8000

serve: setup
	$(BIN)/wangge serve

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy wangge
	WANGGE_DATA_DIR=$$(mktemp -d) $(BIN)/wangge makemigrations --check --dry-run

test-sqlite: setup-test
	WANGGE_DATA_DIR=$$(mktemp -d) $(BIN)/pytest -q

# The same suite again on PostgreSQL; browser tests ran already on SQLite.
test-postgres: setup-test
	@$(BIN)/python scripts/check_services.py postgres
	WANGGE_DATA_DIR=$$(mktemp -d) DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -m "not browser"

test: lint test-sqlite test-postgres

bench: setup-test
	$(BIN)/python bench/search.py
	$(BIN)/python bench/import_residents.py
	$(BIN)/python bench/gridding.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
