# The two commands a new machine needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

# Test services: the machine's PostgreSQL (trust auth) and Redis, unless the environment says otherwise.
# DEBUG stays off, as in production, but the tests speak plain HTTP to their servers.
TEST_ENV = DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" \
	SECURE_SSL_REDIRECT=false \
	CELERY_BROKER_URL="$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/1}" \
	CACHE_URL="$${CACHE_URL:-redis://127.0.0.1:6379/2}" \
	WEBHOOKS_ALLOW_PRIVATE_URLS=true \
	GETITDONE_VAR_DIR="$(CURDIR)/var/test"

.PHONY: run test lint format bench fuzz faults messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

## run: install, migrate, load the demo, print its credentials, start web + workers + beat
run: $(VENV)/.installed
	DEBUG="$${DEBUG:-true}" $(BIN)/python manage.py migrate --noinput --verbosity 0
	DEBUG="$${DEBUG:-true}" $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	DEBUG="$${DEBUG:-true}" PORT=$(PORT) $(BIN)/python manage.py seed_demo --verbosity 0
	@# Each start counts from zero: the samples of processes gone are not added to the new ones'.
	rm -f "$${PROMETHEUS_MULTIPROC_DIR:-$${GETITDONE_VAR_DIR:-var}/metrics}"/*.db
	@echo "Starting web on http://127.0.0.1:$(PORT), Celery workers (webhooks, commands) and beat (Ctrl-C stops all)."
	@# The credentials and next steps come last, once web answers, so they stay on screen.
	DEBUG="$${DEBUG:-true}" PORT=$(PORT) $(BIN)/python manage.py welcome &
	DEBUG="$${DEBUG:-true}" PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start -f Procfile -p $(PORT)

## test: the whole suite against real PostgreSQL and Redis
test: $(VENV)/.dev-installed
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: benchmarks in tests/perf (not part of `make test`)
bench: $(VENV)/.dev-installed
	@for script in tests/perf/bench_*.py; do \
		[ -e "$$script" ] || { echo "no benchmarks yet"; break; }; \
		$(TEST_ENV) $(BIN)/python "$$script" || exit 1; \
	done

## fuzz: schemathesis against a real server, every check and phase, ~10 minutes (not part of `make test`)
fuzz: $(VENV)/.dev-installed
	$(TEST_ENV) $(BIN)/python tests/fuzz/run.py --max-examples 300 --max-time 540 $(FUZZ_ARGS)

## faults: the delivery and command drills on a stack of their own, ~6 minutes (not part of `make test`)
faults: $(VENV)/.dev-installed
	$(BIN)/python tests/faults/run.py $(FAULTS_ARGS)

## messages: refresh and compile the Spanish catalogue
messages: $(VENV)/.installed
	$(BIN)/python manage.py makemessages -l es --ignore ".venv/*" --ignore "var/*" --ignore "tests/*"
	$(BIN)/python manage.py compilemessages --ignore ".venv/*"

clean:
	rm -rf var/test .pytest_cache
