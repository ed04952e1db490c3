# winback: `make demo` and `make test` work on a fresh machine.
# The interpreter is found by scripts/find-python.sh (Python >= 3.12); override with PYTHON=...
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell sh scripts/find-python.sh)

.PHONY: install install-test demo test lint bench bench-peer clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "no Python >= 3.12 found" >&2; exit 1; }
	@if [ ! -x $(PY) ]; then echo "creating $(VENV) with $(PYTHON)"; "$(PYTHON)" -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed

# also Debian's chromium and postgresql for the web survey's tests (scripts/ensure-system-deps.sh)
install-test: $(VENV)/.installed-test
	@sh scripts/ensure-system-deps.sh

demo: install
	$(VENV)/bin/winback demo --force

test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist worksteal

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: install
	$(PY) benchmarks/design_bench.py

# the peer design tool (PyPI choicedesign) in its own environment, for benchmarks only
bench-peer:
	@if [ ! -x .venv-peer/bin/python ]; then "$(PYTHON)" -m venv .venv-peer; fi
	.venv-peer/bin/python -m pip install --quiet choicedesign

clean:
	rm -rf $(VENV) .venv-peer winback-demo .pytest_cache .mypy_cache .ruff_cache
