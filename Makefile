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

.PHONY: test test-python lint demo meltano clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## test: create the virtualenv, install the tap with its test dependencies, run the tests
test: $(STAMP) $(MELTANO_STAMP) $(PIPES_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

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

clean:
	rm -rf $(VENV) .venv-3.* .meltano output .pytest_cache .mypy_cache .ruff_cache
