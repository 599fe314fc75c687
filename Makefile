# `make test` makes its own virtual environment and runs the whole suite, ruff and mypy; it asks
# nothing of the system. `make wordnet` (Debian's WordNet packages, for the nltk cross-check) is
# separate because it may install system packages; `make loaders` (torch, torchvision, timm,
# datasets, for the walkthrough's loader tests) is separate for its size. CI runs both, then
# `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NLTK_DATA ?= $(CURDIR)/.nltk_data
STAMP := $(VENV)/.installed

.PHONY: test venv wordnet loaders lint typecheck pytest completions generate bench clean

test: venv pytest lint typecheck

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask]'
	touch $(STAMP)

venv: $(STAMP)

wordnet:
	sh scripts/setup_wordnet.sh $(NLTK_DATA) >/dev/null

# The dataset loaders the README's walkthrough feeds a subset to (torchvision, timm, Hugging
# Face datasets), so that tests/test_loaders.py checks each snippet; without them those tests
# are skipped. torch is pinned: an unpinned one would pull several GB of another build.
LOADERS_STAMP := $(VENV)/.loaders
$(LOADERS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1 timm datasets
	touch $(LOADERS_STAMP)

loaders: $(LOADERS_STAMP)

pytest: venv
	NLTK_DATA=$(NLTK_DATA) $(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check imagenet_cli tests scripts benchmarks

typecheck: venv
	$(BIN)/mypy

# Regenerate the shell completions from the Typer app.
generate: venv
	$(BIN)/python scripts/generate.py

# Every benchmark, one after the other (each prints its figures beside its baselines).
bench: venv
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench]'
	NLTK_DATA=$(NLTK_DATA) $(BIN)/python benchmarks/bench_synset.py
	$(BIN)/python benchmarks/bench_bbox.py
	$(BIN)/python benchmarks/bench_fetch.py
	$(BIN)/python benchmarks/bench_subset.py
	$(BIN)/python benchmarks/bench_shards.py
	$(BIN)/python benchmarks/bench_dask.py
	$(BIN)/python benchmarks/bench_eval.py
	$(BIN)/python benchmarks/bench_bbox_eval.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
