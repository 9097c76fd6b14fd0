# labdigest: `make` sets up .venv and builds public/ from content/; `make test` tests it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DIGESTS := $(wildcard content/digests/*)

.PHONY: all site ingest test lint serve bench clean
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

test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

serve: site
	$(BIN)/labdigest serve

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf public .public.* $(VENV) bench/work build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
