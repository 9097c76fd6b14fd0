# labdigest: `make` sets up .venv and builds public/ from content/; `make test` tests it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VNU_JAR := .cache/vnu/node_modules/vnu-jar/build/dist/vnu.jar
AXE_JS  := .cache/axe/node_modules/axe-core/axe.min.js

.PHONY: all site ingest test lint serve bench clean html-checker
.DEFAULT_GOAL := all

all: site

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

ingest: $(STAMP)
	$(BIN)/labdigest ingest content/digests

site: ingest
	$(BIN)/labdigest build

test: lint html-checker
	$(BIN)/python -m pytest

# The Nu HTML Checker (run on the machine's Java) and axe-core (run in Chromium), both
# from the npm registry.
html-checker:
	@if [ ! -f $(VNU_JAR) ] && command -v npm >/dev/null; then \
		npm install --silent --prefix .cache/vnu --no-audit --no-fund vnu-jar@26 >/dev/null; fi
	@if [ ! -f $(AXE_JS) ] && command -v npm >/dev/null; then \
		npm install --silent --prefix .cache/axe --no-audit --no-fund axe-core@4 >/dev/null; fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

serve: site
	$(BIN)/labdigest serve

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf public .public.* .labdigest-cache .cache $(VENV) bench/work build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
