# The two commands of the README:
#   make demo   set everything up, start Kafka and Cassandra, produce events, land and clean them, print a summary
#   make test   set everything up, start the services once, run every test, stop the services
# Everything else is a step of those two.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test setup tools dagster-home services-up services-status services-down ui bench clean

$(BIN)/pipeline: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@# The real MovieLens 100k release, read from where recbole installs it (its own dependencies, torch
	@# included, are not needed: nothing imports it).
	$(BIN)/pip install --quiet --no-deps recbole==1.2.1
	@touch $@

setup: $(BIN)/pipeline  ## Python environment with the project installed (editable)

dagster-home:  ## the Dagster instance folder, with this project's dagster.yaml (refreshed when the project's is newer)
	@mkdir -p $(DAGSTER_HOME) && cp -u dagster.yaml $(DAGSTER_HOME)/

# The compose test validates docker-compose.yml with Debian's docker-compose (no Docker engine needed).
tools:
	@command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing docker-compose (validator only, no engine)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; \
	  else echo "note: install docker-compose (apt-get install --no-install-recommends docker-compose) for the compose test"; fi; }

demo: setup dagster-home
	$(BIN)/pipeline demo

test: setup tools dagster-home
	$(BIN)/python -m pytest

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
