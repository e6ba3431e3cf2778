# Two commands do all set-up on a fresh machine:
#   make sync   create .venv, install, sync the tenant (or the built-in sandbox) into data/warehouse.duckdb
#   make test   create .venv, install, run the test suite
PYTHON ?= python3
VENV ?= .venv
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: sync test dev bench bench-tenants

$(VENV)/.installed: pyproject.toml
	@echo "Installing the pipeline and its tools into $(VENV) (about a minute, once)..."
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $@

sync: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/bridged-auth0 sync

test: $(VENV)/.installed
	$(VENV)/bin/pytest $(PYTEST_ARGS)

dev: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/bridged-auth0 dev $(DEV_ARGS)

bench: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/run.py $(BENCH_ARGS)

bench-tenants: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/tenants.py $(BENCH_ARGS)
