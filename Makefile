# make serve: install into .venv and serve the bundled directory on http://127.0.0.1:8000
# make test:  the same set-up, then the linters and the whole test suite
# make lint:  ruff, and the layers' import contracts (pyproject.toml, docs/ARCHITECTURE.md)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Mozilla ical.js for the calendar tests and axe-core for the browser tests, pinned by
# tests/js/package-lock.json (needs node).
JS := tests/js
JS_STAMP := $(JS)/node_modules/.installed-stamp
# Headless Chromium for the browser tests, from Debian's packages: Playwright drives it
# (tests/browser.py); Playwright's own browser download is not used.
CHROMIUM := /usr/bin/chromium

.PHONY: serve test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	npm ci --prefix $(JS) --no-audit --no-fund
	touch $(JS_STAMP)

# Installed only when missing, which takes root (CI runs as root).
$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then \
		echo "The browser tests need Debian's chromium at $(CHROMIUM)." >&2; \
		echo "Install it as root: apt-get install chromium" >&2; \
		exit 1; \
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

serve: $(STAMP)
	$(BIN)/publisher serve

lint: $(STAMP)
	$(BIN)/ruff check publisher tests bench
	$(BIN)/ruff format --check publisher tests bench
	$(BIN)/lint-imports

test: lint $(JS_STAMP) $(CHROMIUM)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis .import_linter_cache $(JS)/node_modules
