# Every target creates and reuses .venv itself: `make demo` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE_STAMP := $(VENV)/.fnguard-base
DEV_STAMP := $(VENV)/.fnguard-dev

.PHONY: demo test bench lint browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BASE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# torch==2.13.0 first: that CPU build installs from this machine's disk; letting the `nn`
# extra resolve torch on its own would download a multi-GB CUDA build.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	$(BIN)/python -m pip install --quiet -e '.[dev,nn,review,dask]'
	touch $@ $(BASE_STAMP)

# The browser tests drive Debian's chromium; install it when it is missing and we may (root, apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "WARNING: installing chromium failed: the browser tests will be skipped"; \
	  else echo "chromium not found and cannot be installed here: browser tests will be skipped"; fi; }

demo: $(BASE_STAMP)
	$(BIN)/fnguard demo

test: $(DEV_STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) fnguard-report .pytest_cache .ruff_cache
