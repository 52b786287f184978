# tap-batchimport: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Meltano (make demo, tests/test_meltano_e2e.py, tests/test_postgres_e2e.py): its own venv
# and the plugins' venvs live under .meltano/; the stamps make a re-run cost nothing when
# nothing changed. The shards (tap-batchimport--<vendor>) share tap-batchimport's venv.
MELTANO_VENV  := .meltano/cli
MELTANO       := $(MELTANO_VENV)/bin/meltano
MELTANO_STAMP := .meltano/.plugins-installed
export MELTANO_CLI_DISABLE_VERSION_CHECK := 1
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
export MELTANO_DISABLE_TRACKING := true

.PHONY: install test lint demo postgres-demo meltano clean
.DEFAULT_GOAL := install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## install (`make`): create the virtualenv .venv and install the tap (and its test tools) into it
install: $(STAMP)
	@echo "tap-batchimport is $(BIN)/tap-batchimport; 'source $(BIN)/activate' puts it on PATH"

## test: the whole suite on two workers, one test file each; a line per finished file, then
## the slowest tests (Meltano, PostgreSQL and the documentation's commands take minutes)
test: $(STAMP) $(MELTANO_STAMP)
	@echo "make test: $$(ls tests/test_*.py | wc -l) test files through the real CLI, the vendor emulator, Meltano and PostgreSQL, on 2 workers"
	$(BIN)/python -m pytest -n 2 --dist loadfile -p tests.file_progress --durations=15

## lint: ruff and mypy, as CI runs them
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

$(MELTANO_VENV)/.installed: scripts/requirements-meltano.txt
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet -r scripts/requirements-meltano.txt
	touch $@

$(MELTANO_STAMP): $(MELTANO_VENV)/.installed meltano.yml pyproject.toml
	$(MELTANO) install tap-batchimport target-duckdb target-postgres
	touch $@

## meltano: install Meltano and the plugins `make demo` and the end-to-end tests use
meltano: $(MELTANO_STAMP)

## demo: run Meltano (tap-batchimport -> target-duckdb) against the local vendor emulator
demo: $(MELTANO_STAMP)
	$(MELTANO_VENV)/bin/python scripts/demo.py

## postgres-demo: a production rehearsal: a throwaway PostgreSQL server, two scheduled nights
## against the emulator through target-postgres, the headline query from psql; then it stops
postgres-demo: $(MELTANO_STAMP)
	$(MELTANO_VENV)/bin/python scripts/postgres_demo.py

clean:
	rm -rf $(VENV) .meltano output .pytest_cache .mypy_cache .ruff_cache
