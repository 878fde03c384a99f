# Switchback. `make run` and `make test` are the two commands a newcomer needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Browser tests write their screenshots here.
SCREENSHOTS ?= test-artifacts/screenshots

.PHONY: run test lint format check bench install clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@mkdir -p var
	DEBUG=true $(BIN)/python manage.py migrate --noinput
	DEBUG=true $(BIN)/python manage.py load_demo --history-in-background
	@echo ""
	@echo "  Switchback is starting on http://127.0.0.1:8000/  (Ctrl-C stops web, worker and beat)"
	@echo ""
	DEBUG=true $(BIN)/honcho start -f Procfile

test: $(STAMP)
	@mkdir -p $(SCREENSHOTS)
	SCREENSHOT_DIR=$(abspath $(SCREENSHOTS)) $(BIN)/python -m pytest
	@echo "Browser screenshots (when Chromium ran): $(abspath $(SCREENSHOTS))"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=lint $(BIN)/python manage.py check
	SECRET_KEY=lint $(BIN)/python manage.py makemigrations --check --dry-run
	SECRET_KEY=lint $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/board.py
	$(BIN)/python bench/flow.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache test-artifacts
