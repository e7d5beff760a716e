# Two entry points for a fresh machine: `make demo` (train the default SGAN, write its report)
# and `make test`. Both create the virtual environment they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Where the datasets sit beside the checkout (this project's machines and CI), use them;
# elsewhere sgan searches its cache and /usr/share/datasets, then downloads.
ifneq ($(wildcard ../shared/datasets/mnist),)
export SGAN_DATA_DIR ?= $(abspath ../shared/datasets)
endif

.PHONY: setup demo data test lint clean

$(BIN)/sgan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Pinned here: the local CPU build. An unpinned torch pulls gigabytes of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,ray]'
	touch $(BIN)/sgan

# `source .venv/bin/activate` then finds the shared datasets too (idempotent: one line, once).
setup: $(BIN)/sgan
	@if [ -d ../shared/datasets ]; then \
	  line='export SGAN_DATA_DIR=$(abspath ../shared/datasets)'; \
	  grep -qxF "$$line" $(BIN)/activate || echo "$$line" >> $(BIN)/activate; \
	fi

demo: setup
	rm -rf runs/demo
	$(BIN)/sgan train --out runs/demo

data: setup
	$(BIN)/sgan data --out runs/data

test: setup
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks examples

clean:
	rm -rf $(VENV) runs
