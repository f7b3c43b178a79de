# Two commands set up everything on a fresh machine with only Python 3:
#   make demo   - run the audience-research job on a local Ray
#   make test   - lint, type-check, import contracts, tests and properties
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: all venv test lint typecheck contracts unit properties demo bench bench-full clean

all: test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[ray,test,dev,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(BIN)/ruff check core shell tests properties bench
	$(BIN)/ruff format --check core shell tests properties bench

typecheck: venv
	$(BIN)/mypy --strict core
	$(BIN)/mypy --strict shell

contracts: venv
	$(BIN)/lint-imports

unit: venv
	$(BIN)/python -m pytest tests

properties: venv
	$(BIN)/python -m pytest properties

test: lint typecheck contracts
	$(BIN)/python -m pytest tests properties

demo: venv
	$(BIN)/python -m shell.demo

bench: venv
	$(BIN)/python -m bench --quick

bench-full: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
