# Two commands set up everything on a fresh machine with only Python 3:
#   make demo   - run the audience-research job on a local Ray
#   make test   - lint, type-check, import contracts, the pure core's tests in a
#                 virtual environment without Ray, then every test and property
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The core must work where Ray is not installed: a second venv with no Ray proves it.
CORE_VENV := .venv-core
CORE_BIN := $(CORE_VENV)/bin
CORE_STAMP := $(CORE_VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: all venv core-venv browser test lint typecheck contracts unit core-without-ray properties demo bench bench-full clean

all: test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[ray,demo,test,dev,bench,postgres,serve,serve-test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

$(CORE_STAMP): pyproject.toml
	test -x $(CORE_BIN)/python || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_BIN)/python -m pip install --quiet --upgrade pip
	$(CORE_BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(CORE_VENV)/.installed-*
	touch $(CORE_STAMP)

core-venv: $(CORE_STAMP)

# The core's tests and properties where Ray cannot be imported (the tests check it is absent).
core-without-ray: core-venv
	EAP_STATE_EXPECT_NO_RAY=1 $(CORE_BIN)/python -m pytest -p no:cacheprovider tests/core properties/core

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

# The service's page is tested in Debian's chromium, driven by Playwright through its
# executable path (Playwright cannot download its own browsers here): install it if missing.
CHROMIUM ?= /usr/bin/chromium
browser:
	test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

properties: venv
	$(BIN)/python -m pytest properties

test: lint typecheck contracts core-without-ray browser
	$(BIN)/python -m pytest tests properties

demo: venv
	$(BIN)/python -m shell.demo

bench: venv
	$(BIN)/python -m bench --quick

bench-full: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(CORE_VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
