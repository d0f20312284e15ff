# Two entry points: `make demo` and `make test` (see README). Each builds .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit kernels docs slow bench clean java chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/survstudy demo bclm

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# The Spark engine's tests need a Java runtime: on Debian (CI runs as root) install
# openjdk-17-jre-headless when `java` is missing; elsewhere say so (those tests then skip).
java:
	@command -v java >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; \
	  else echo "note: no java found; install a Java 17 runtime or the Spark tests are skipped"; fi; }

# The app's browser tests drive Debian's chromium with playwright (never `playwright
# install`): install it with apt-get when /usr/bin/chromium is missing (CI runs as root).
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "note: no /usr/bin/chromium; install chromium or the browser tests are skipped"; fi; }

unit: $(VENV)/.installed-test java chromium
	$(BIN)/python -m pytest -q -m "slow or not slow"

# The statistics again under another CPU's BLAS kernels and one thread: NumPy's OpenBLAS
# picks its kernels at run time, so a result that is not converged (or is ill-conditioned)
# moves between machines; this catches it where it is made. Prescott (SSE3) runs on every
# x86-64 CPU; ARMV8 is the plain kernel on 64-bit ARM.
KERNEL := $(if $(filter aarch64 arm64,$(shell uname -m)),ARMV8,Prescott)
kernels: $(VENV)/.installed-test
	OPENBLAS_CORETYPE=$(KERNEL) OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/stats tests/selftest
	OPENBLAS_CORETYPE=$(KERNEL) OPENBLAS_NUM_THREADS=1 $(BIN)/survstudy selftest

# The documentation site (mkdocs.yml) into build/site; strict: a broken link, a page left
# out of the navigation or a docstring mkdocstrings cannot read fails the build. Offline:
# the generated pages come from the code and docs/study-schema.json (scripts/docs_pages.py).
# (Not --quiet: it hides the warnings that strict mode must count.)
docs: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: lint typecheck unit kernels docs

slow: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m slow

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_km_logrank.py
	$(BIN)/python benchmarks/bench_cox.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
