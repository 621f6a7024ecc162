# Two commands for a fresh machine: `make up` (the embedded system with demo data) and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
DATA_DIR ?= $(CURDIR)/.changecast
CUSTOMERS ?= 3
PORT ?= 8000
# Tests run in two processes (pytest-xdist), a file per process at a time; TEST_WORKERS=0 runs them in one.
TEST_WORKERS ?= 2

.PHONY: up test lint bootstrap bench system-deps image

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

# The portal image, built from Dockerfile and pushed to the hub's ECR repository (Terraform output
# portal_repository_url). Docker does not run on the project's development machines: run this
# where a Docker engine and the hub account's credentials are.
#   make image REGISTRY=$(terraform -chdir=deploy/terraform/environments/dev output -raw portal_repository_url) TAG=0.1.0
REGISTRY ?=
TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null)
PLATFORM ?= linux/arm64
REGISTRY_HOST = $(firstword $(subst /, ,$(REGISTRY)))
REGISTRY_REGION = $(word 4,$(subst ., ,$(REGISTRY_HOST)))

image:
	@docker info >/dev/null 2>&1 || { echo "make image: no Docker engine reachable (Docker does not run on the project's development machines); run it where one is" >&2; exit 2; }
	@test -n "$(REGISTRY)" || { echo "make image: set REGISTRY to Terraform's output portal_repository_url" >&2; exit 2; }
	aws ecr get-login-password --region $(REGISTRY_REGION) | docker login --username AWS --password-stdin $(REGISTRY_HOST)
	docker build --platform $(PLATFORM) --tag $(REGISTRY):$(TAG) .
	docker push $(REGISTRY):$(TAG)
	@echo "pushed $(REGISTRY):$(TAG): set portal_image_tag = \"$(TAG)\" in terraform.tfvars"
