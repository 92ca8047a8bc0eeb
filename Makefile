# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
UV_VERSION := 0.13.9

.PHONY: run test chaos install stack-start stack-stop stack-status schemas schemas-check asyncapi bench lint

install: ## Python deps from uv.lock (installs uv itself from PyPI when missing)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --all-packages

run: install ## Kafka + the store + the four services + the web console in the foreground; Ctrl-C stops all
	$(UV) run --frozen python deploy/local/stack.py run

test: install ## The whole suite on real infrastructure (provisions the local stack if needed)
	$(UV) run --frozen pytest

chaos: install ## Only the chaos suite (also in `make test`): SIGKILLed services and a Kafka restart during 5,000 HR events
	$(UV) run --frozen pytest -m chaos tests/chaos -s

stack-start: install
	$(UV) run --frozen python deploy/local/stack.py start
stack-stop:
	$(UV) run --frozen python deploy/local/stack.py stop
stack-status:
	$(UV) run --frozen python deploy/local/stack.py status

schemas: install ## Regenerate the committed JSON Schemas of every event
	$(UV) run --frozen tandem-schemas export
schemas-check: install
	$(UV) run --frozen tandem-schemas check

asyncapi: install ## The AsyncAPI 3.0 document of each service, under docs/asyncapi/
	$(UV) run --frozen python -m tandem_chassis.asyncapi docs/asyncapi

bench: install ## Benchmarks: bench/results/REPORT.md + report.png, each figure beside its baseline (BENCH_ARGS=--quick: small sizes, into bench/results/quick/)
	$(UV) run --frozen python bench/run_all.py $(BENCH_ARGS)

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy
