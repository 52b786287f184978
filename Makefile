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
# Targets users run by a shell pipe rather than through Meltano (tests/test_targets.py):
# each in its own virtualenv under .meltano/pipes/.
PIPES       := .meltano/pipes
PIPES_STAMP := $(PIPES)/.installed
PIPELINEWISE_TARGET_POSTGRES := pipelinewise-target-postgres==2.1.2
export MELTANO_CLI_DISABLE_VERSION_CHECK := 1
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
export MELTANO_DISABLE_TRACKING := true

.PHONY: install test test-python lint demo postgres-demo meltano clean
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
test: $(STAMP) $(MELTANO_STAMP) $(PIPES_STAMP)
	@echo "make test: $$(ls tests/test_*.py | wc -l) test files through the real CLI, the vendor emulator, Meltano and PostgreSQL, on 2 workers"
	$(BIN)/python -m pytest -n 2 --dist loadfile -p tests.file_progress --durations=15

## test-python: the suite on another interpreter, e.g. `make test-python PYTHON=python3.13`,
## in its own virtualenv (.venv-<version>); the Meltano end-to-end tests (-m e2e) are left
## out: Meltano runs the tap in its own plugin virtualenv, which `make test` covers.
test-python:
	@version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])') && \
	venv=.venv-$$version && \
	{ [ -x $$venv/bin/python ] || $(PYTHON) -m venv $$venv; } && \
	$$venv/bin/python -m pip install --quiet --upgrade pip && \
	$$venv/bin/python -m pip install --quiet -e '.[test]' && \
	echo "Python $$version: the suite without the Meltano end-to-end tests (-m 'not e2e')" && \
	$$venv/bin/python -m pytest -n 2 --dist loadfile -m 'not e2e'

## lint: ruff and mypy, as CI runs them
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

$(MELTANO_VENV)/.installed: scripts/requirements-meltano.txt
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet -r scripts/requirements-meltano.txt
	touch $@

$(MELTANO_STAMP): $(MELTANO_VENV)/.installed meltano.yml pyproject.toml Makefile
	$(MELTANO) install tap-batchimport target-duckdb target-postgres target-jsonl
	touch $@

# Installed without its dependencies, then those of the requirements file (which says why).
$(PIPES_STAMP): scripts/requirements-pipelinewise-target-postgres.txt Makefile
	rm -rf $(PIPES)/pipelinewise-target-postgres
	$(PYTHON) -m venv $(PIPES)/pipelinewise-target-postgres
	$(PIPES)/pipelinewise-target-postgres/bin/python -m pip install --quiet --no-deps \
		'$(PIPELINEWISE_TARGET_POSTGRES)'
	$(PIPES)/pipelinewise-target-postgres/bin/python -m pip install --quiet \
		-r scripts/requirements-pipelinewise-target-postgres.txt
	touch $@

## meltano: install Meltano, the plugins `make demo` and the end-to-end tests use, and the
## targets the tests run by a shell pipe
meltano: $(MELTANO_STAMP) $(PIPES_STAMP)

## demo: run Meltano (tap-batchimport -> target-duckdb) against the local vendor emulator
demo: $(MELTANO_STAMP)
	$(MELTANO_VENV)/bin/python scripts/demo.py

## postgres-demo: a production rehearsal: a throwaway PostgreSQL server, two scheduled nights
## against the emulator through target-postgres, the headline query from psql; then it stops
postgres-demo: $(MELTANO_STAMP)
	$(MELTANO_VENV)/bin/python scripts/postgres_demo.py

clean:
	rm -rf $(VENV) .venv-3.* .meltano output .pytest_cache .mypy_cache .ruff_cache
