# Two commands do everything on a fresh machine (Debian/Ubuntu with Python 3.11 and git):
#   make demo   generate a county, run the daily DAG in Airflow, serve the dashboards on localhost
#   make test   the whole test suite (real PostgreSQL, Airflow, dbt, Great Expectations, Superset, Chromium)
SHELL := /bin/bash
STATE ?= $(CURDIR)/.state
PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV := $(STATE)/bootstrap/bin/uv
SUPERSET_VENV := $(STATE)/superset-venv
export FUPIN_STATE_DIR ?= $(STATE)
export UV_CACHE_DIR ?= $(HOME)/.cache/uv
export FUPIN_SUPERSET_VENV ?= $(SUPERSET_VENV)

.PHONY: setup setup-test setup-system setup-system-test setup-python setup-superset demo test lint clean

$(UV):
	$(PYTHON) -m venv $(STATE)/bootstrap
	$(STATE)/bootstrap/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

setup-system:
	bash scripts/setup-system.sh

setup-system-test:
	bash scripts/setup-system.sh --test

setup-python: $(UV)
	$(UV) sync --frozen --python $(PYTHON)

setup-superset: $(UV)
	UV_PROJECT_ENVIRONMENT=$(SUPERSET_VENV) $(UV) sync --frozen --python $(PYTHON) --project dashboards/superset_env

setup: setup-system setup-python setup-superset

setup-test: setup-system-test setup-python setup-superset

demo: setup
	.venv/bin/fupin demo

test: setup-test
	.venv/bin/pytest

lint: setup-python
	.venv/bin/ruff check .
	.venv/bin/sqlfluff lint dbt_project/models

clean:
	-.venv/bin/fupin pg stop
	rm -rf $(STATE)/pg $(STATE)/warehouse $(STATE)/airflow $(STATE)/superset $(STATE)/quality
