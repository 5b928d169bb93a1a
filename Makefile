# The two commands of the README:
#   make demo   set everything up, start Kafka and Cassandra, run the whole product once (pipeline/demo.py)
#   make test   set everything up, start the services once, run every test, stop the services
# Everything else is a step of those two.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test test-fast setup lock movielens tools dagster-home services-up services-status services-down ui bench clean

# The project with its test extras, every package at the exact version of constraints.txt (see `lock`).
$(BIN)/pipeline: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# What earlier versions of the project installed and it no longer uses (xgboost-cpu replaces xgboost and its
	@# NVIDIA library; MovieLens comes from `make movielens`, not recbole), so an existing .venv follows too.
	$(BIN)/pip uninstall --quiet --yes xgboost nvidia-nccl-cu12 recbole 2>/dev/null || true
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	@touch $@

setup: $(BIN)/pipeline movielens  ## Python environment with the project installed (editable), and MovieLens 100k

# constraints.txt pins the whole environment. To update it (after changing pyproject.toml, or to take newer
# releases within its ranges): `make lock` resolves pyproject.toml from scratch in a throw-away virtualenv,
# without constraints, checks it with `pip check` and writes its `pip freeze`; review the diff, then `make setup`.
lock:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "resolving .[test] from pyproject.toml in a throw-away virtualenv ($$tmp)"; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install --quiet --upgrade pip; \
	"$$tmp/venv/bin/pip" install --quiet -e ".[test]"; \
	"$$tmp/venv/bin/pip" check; \
	python_version=$$("$$tmp/venv/bin/python" -c 'import platform; print(platform.python_version(), platform.system(), platform.machine())'); \
	{ echo "# The whole environment at exact versions; make setup installs: pip install -c constraints.txt -e '.[test]'"; \
	  echo "# Written by make lock: pip install -e '.[test]' (pyproject.toml's ranges, no constraints) into a throw-away"; \
	  echo "# virtualenv (Python $$python_version), then pip freeze --exclude-editable."; \
	  echo "# Do not edit by hand: change pyproject.toml and run make lock."; \
	  "$$tmp/venv/bin/pip" freeze --exclude-editable; } > constraints.txt.tmp; \
	mv constraints.txt.tmp constraints.txt; \
	echo "constraints.txt: $$(grep -vc '^#' constraints.txt) packages"

# MovieLens 100k (the recbole 1.2.1 wheel's bundled copy) into DATA_CACHE_DIR/ml-100k; nothing when it is there.
movielens: $(BIN)/pipeline
	$(BIN)/pipeline fetch movielens

dagster-home: $(BIN)/pipeline  ## the Dagster instance: this project's dagster.yaml (refreshed when newer), the Spark pool
	@$(BIN)/pipeline dagster-home

# The compose test validates docker-compose.yml with Debian's docker-compose (no Docker engine needed); the browser
# tests drive Debian's headless Chromium through its chromedriver; Dagster on Postgres runs Debian's PostgreSQL.
tools:
	@command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing docker-compose (validator only, no engine)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; \
	  else echo "note: install docker-compose (apt-get install --no-install-recommends docker-compose) for the compose test"; fi; }
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium and chromium-driver (the browser tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; \
	  else echo "note: install chromium and chromium-driver (apt-get install --no-install-recommends chromium chromium-driver) for the browser tests"; fi; }
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing postgresql (Dagster on Postgres: pipeline services up --postgres)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	  else echo "note: install postgresql (apt-get install --no-install-recommends postgresql) for Dagster on Postgres"; fi; }

demo: setup dagster-home
	$(BIN)/pipeline demo

test: setup tools dagster-home
	$(BIN)/pip check
	$(BIN)/python -m pytest

# The inner loop: unit and Spark tests, no Kafka, Cassandra or `dagster dev` (markers set in pipeline_tests/conftest.py).
test-fast: setup tools dagster-home
	$(BIN)/python -m pytest -m "not services and not daemon and not slow" --durations=15

services-up: setup
	$(BIN)/pipeline services up

services-status: setup
	$(BIN)/pipeline services status

services-down: setup
	$(BIN)/pipeline services down

ui: setup dagster-home
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

bench: setup
	$(BIN)/python bench/landing.py

clean:
	rm -rf .lake .dagster_home .pytest_cache spark-warehouse
