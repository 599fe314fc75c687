# `make test` makes its own virtual environment and runs the whole suite, ruff and mypy; it asks
# nothing of the system. `make wordnet` (Debian's WordNet packages, for the nltk cross-check) is
# separate because it may install system packages; CI runs it first, then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NLTK_DATA ?= $(CURDIR)/.nltk_data
STAMP := $(VENV)/.installed

.PHONY: test venv wordnet lint typecheck pytest completions generate bench clean

test: venv pytest lint typecheck

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask]'
	touch $(STAMP)

venv: $(STAMP)

wordnet:
	sh scripts/setup_wordnet.sh $(NLTK_DATA) >/dev/null

pytest: venv
	NLTK_DATA=$(NLTK_DATA) $(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check imagenet_cli tests scripts benchmarks

typecheck: venv
	$(BIN)/mypy

# Regenerate the files derived from the Typer app (shell completions, fast-path spec).
generate: venv
	$(BIN)/python scripts/generate.py

# Every benchmark, one after the other (each prints its figures beside its baselines).
bench: venv
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench]'
	NLTK_DATA=$(NLTK_DATA) $(BIN)/python benchmarks/bench_synset.py
	$(BIN)/python benchmarks/bench_bbox.py
	$(BIN)/python benchmarks/bench_fetch.py
	$(BIN)/python benchmarks/bench_subset.py
	$(BIN)/python benchmarks/bench_dask.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
