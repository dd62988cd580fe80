# The developer loop. `make test` is the command CI runs (via .ci/run).
PY ?= python
INSTALL = $(PY) -m pip install -q torch==2.13.0 -e '.[test]'

.PHONY: install run test lint format bench
install:
	$(INSTALL)
run: install
	benchbench run --suite default --out results
test: install
	$(PY) -m pytest -q
lint:
	ruff check . && ruff format --check .
format:
	ruff check --fix . && ruff format .
bench: install
	$(PY) -m pytest benchmarks -q -s
