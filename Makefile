# Both main targets build their own virtual environment in .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-lowest lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,plot,mpi]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/minigrad train --out runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest

# Style and types: what CI checks besides the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy minigrad minigrad_console.py

# The suite on the lowest dependency versions pyproject.toml allows, in .venv-lowest.
test-lowest:
	bash .ci/lowest-deps.sh

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-lowest runs build dist *.egg-info
