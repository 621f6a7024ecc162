# Two commands for a fresh machine: `make up` (the embedded system with demo data) and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
DATA_DIR ?= $(CURDIR)/.changecast
CUSTOMERS ?= 3
PORT ?= 8000
# Tests run in two processes (pytest-xdist), a file per process at a time; TEST_WORKERS=0 runs them in one.
TEST_WORKERS ?= 2

.PHONY: up test lint bootstrap bench system-deps

system-deps:
	@scripts/system-deps.sh

bootstrap:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || scripts/install-uv.sh
	@$(UV) sync --frozen --quiet --extra local

# `make up PORT=8001 DATA_DIR=/tmp/cc` chooses the port and the data directory. The log goes to
# $(DATA_DIR)/local-up.log; the terminal ends with a banner. `./changecast …` is the CLI.
up: bootstrap
	@$(UV) run --frozen --quiet --extra local changecast --data-dir "$(DATA_DIR)" local up --via make --customers $(CUSTOMERS) --port $(PORT)

lint: bootstrap
	$(UV) run ruff check src tests bench
	$(UV) run ruff format --check src tests bench
	$(UV) run mypy
	$(UV) run lint-imports
	$(UV) tool run --python 3.11 --from 'checkov==3.2.533' checkov -d deploy --compact --quiet --skip-download

test: system-deps lint
	$(UV) run pytest -n $(TEST_WORKERS) --dist loadfile

bench: bootstrap
	$(UV) run python bench/search.py
