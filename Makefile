# Cartwright: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make run WORKERS=3`: several workers on one group, the store's deliveries spread over them.
WORKERS ?= 1

.PHONY: run test lint typecheck unit integration install browser clean bench-sink bench-triggers bench-replay bench-catalogue bench-ingest bench-pipeline

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/cartwright demo --workers $(WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check schemas connectors streams sandbox tests bench
	$(BIN)/ruff format --check schemas connectors streams sandbox tests bench

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy tests bench

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

# The status page's test drives a real headless Chromium through ChromeDriver, both from Debian
# (we run as root); pip's selenium talks to /usr/bin/chromedriver and never downloads a browser.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver)

test: $(STAMP) browser lint typecheck
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

bench-triggers: $(STAMP)
	$(BIN)/python -m bench.triggers --out bench/results/triggers.json

bench-sink: $(STAMP)
	$(BIN)/python -m bench.sink --out bench/results/sink.json

bench-replay: $(STAMP)
	$(BIN)/python -m bench.replay_seek --out bench/results/replay_seek.json

bench-catalogue: $(STAMP)
	$(BIN)/python -m bench.catalogue --out bench/results/catalogue.json

bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest --out bench/results/ingest.json

bench-pipeline: $(STAMP)
	$(BIN)/python -m bench.pipeline --out bench/results/pipeline.json

.PHONY: contract
# The published contract: JSON Schemas and the AsyncAPI document under contract/, from the models.
contract: $(STAMP)
	$(BIN)/python -m schemas.contract.publish
