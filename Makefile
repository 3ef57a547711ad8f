# unlearn-audit: `make demo` runs the example audits; `make test` runs the static checks (ruff, mypy) and the
# whole test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test check install system-deps bench clean

# WeasyPrint renders through Pango (and subsets fonts with HarfBuzz); the PDF tests read text and
# check signatures with poppler (pdftotext, pdfsig); the HTML test loads the report in headless
# Chromium; examples/fashion_mnist.yaml reads Fashion-MNIST from the Debian package
# dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). Whatever is missing is installed from
# Debian (apt-get update runs once, first).
system-deps:
	@missing=""; \
	ldconfig -p 2>/dev/null | grep -q libpango-1.0.so.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset.so.0 || missing="$$missing libharfbuzz-subset0"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi "DejaVu Sans" || missing="$$missing fonts-dejavu-core"; \
	[ -d /usr/share/datasets/fashion-mnist ] || missing="$$missing dataset-fashion-mnist"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# One install with the dev extras serves both targets; it is redone when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
	touch $(STAMP)

install: system-deps $(STAMP)

# Two audits: the embedded default (digits, forget a class) and the erasure of individual records
# (MNIST-1D, forget a random 10 %), the case most requests are and the one digits has no power for
# (README, "The two commands"). An audit's exit code is its verdict (0 pass, 1 fail or
# inconclusive); the demo succeeds on either, and fails only on 2 (config error) or 3 (the audit
# could not complete).
demo: install
	@for example in digits mnist1d; do \
	  echo "== unlearn-audit run examples/$$example.yaml"; \
	  $(BIN)/unlearn-audit run examples/$$example.yaml; code=$$?; \
	  if [ $$code -gt 1 ]; then exit $$code; fi; \
	  echo "(exit code $$code is the verdict; try --set unlearner.name=retrain --out runs/$$example-retrain)"; \
	done

# The static checks (lint, formatting, types) run first, so CI fails on them before the tests.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: check
	$(BIN)/python -m pytest -q --durations=15

bench: install
	$(BIN)/python benchmarks/bench_audit.py

clean:
	rm -rf $(VENV) build dist *.egg-info runs .pytest_cache .mypy_cache .ruff_cache
