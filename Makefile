# Two commands do all the set-up on a fresh machine (see README):
#   make chat   install everything, index seeds/, open the web chat on 127.0.0.1:7860
#   make test   install everything (with test tools and Debian's chromium), run all tests
# Both are idempotent: a second run only redoes what changed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install install-test chat test test-fast lint index clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e ".[test]"
	$(BIN)/rag models --assemble >/dev/null
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser test (Playwright's own download does not work offline).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

install-test: $(STAMP) /usr/bin/chromium

chat: install
	$(BIN)/rag index seeds
	$(BIN)/rag serve

test: install-test
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) index/*.jsonl index/*.npy index/*.npz index/*.faiss index/manifest.json
