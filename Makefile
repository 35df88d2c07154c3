# The two commands of the README: `make demo` and `make test`. Each sets up .venv from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: setup demo test test-slow lint bench compare clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "glassnet needs Python 3.10 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/glassnet demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# the fast suite on two workers (about 2 minutes on 2 cores, 4 on a slow pair; numba compiles its
# kernels on a clean clone); `make test-slow` runs the long experiments
test: lint
	$(BIN)/python -m pytest -q -m "not slow" -n 2
	@test -x /usr/bin/chromium || echo "make test: the browser tests of tests/test_page.py were SKIPPED: /usr/bin/chromium not found (apt-get install chromium; .ci/run installs it and requires them)"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow -s

# PyTorch is a benchmark peer only: installed here (the CPU build on this machine's disk), never a
# dependency of glassnet or its tests; without it the table has no PyTorch column
bench: $(STAMP)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet torch==2.13.0 \
		|| echo "glassnet bench: PyTorch could not be installed; its column is skipped"
	$(BIN)/python benchmarks/run.py

# this checkout against another version of glassnet (OTHER is the other checkout's src folder)
compare: $(STAMP)
	$(BIN)/python benchmarks/compare.py $(OTHER)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
