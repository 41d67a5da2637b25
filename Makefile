# csbot — the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Embedded mode is a local, single-user setup: DEBUG on unless the caller says otherwise.
export DJANGO_DEBUG ?= 1

.PHONY: run test install install-dev migrate demo serve browsers lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and exactly: any other spec would pull gigabytes of CUDA packages.
$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Demo data, then an intent model if none is active yet (the linear backend trains in seconds).
demo: migrate
	$(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py nlu_train --if-none-active --activate

# One daphne process serves HTTP and WebSockets in the embedded mode.
serve: install
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/daphne -b $(HOST) -p $(PORT) csbot.asgi:application

run: demo serve

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browsers:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium" >&2; fi; }

test: install-dev browsers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
