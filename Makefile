# One command per job; each does its own set-up, so a fresh clone needs only python3 and pip.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else the copy pip installed as a module (see `setup`).
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export UV_PYTHON_DOWNLOADS := never

# The other supported Pythons, each tested in its own environment (.venv-pyX.Y).
OTHER_PYTHONS := 3.10 3.12 3.13

# Coverage is measured per package: shared's and every provider's import package,
# found from the folders (shared/src/<name>/, packages/*/src/<name>/).
COVERAGE_PACKAGES := $(patsubst %/__init__.py,%,$(wildcard shared/src/*/__init__.py packages/*/src/*/__init__.py))
COVERAGE_MIN := 85

.PHONY: help setup lint typecheck test test-pythons demo bench vendor-clis build publish bump

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

setup:  ## Install uv with pip when it is missing, then sync the workspace.
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --locked --all-packages

lint: setup  ## ruff lint and format check.
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .

typecheck: setup  ## mypy (strict) over every package's source.
	$(UV) run --locked mypy

# The real vendor CLIs the provider tests also run against, offline, pinned.
GEMINI_CLI_VERSION := 0.61.0
CODEX_CLI_VERSION := 0.171.0
VENDOR := .vendor

vendor-clis:  ## Install the pinned Gemini and Codex CLIs into .vendor/ with npm (skipped, saying so, without npm).
	@$(call vendor_cli,gemini-cli,@google/gemini-cli,$(GEMINI_CLI_VERSION),gemini)
	@$(call vendor_cli,codex,@openai/codex,$(CODEX_CLI_VERSION),codex)

# $(call vendor_cli,FOLDER,NPM_PACKAGE,VERSION,BINARY): install unless that version is there.
define vendor_cli
if command -v npm >/dev/null 2>&1; then \
  [ -x $(VENDOR)/$(1)/node_modules/.bin/$(4) ] && \
  grep -q '"version": "$(3)"' $(VENDOR)/$(1)/node_modules/$(2)/package.json \
  || npm install --prefix $(VENDOR)/$(1) --no-audit --no-fund --loglevel=error $(2)@$(3) \
  || echo "vendor-clis: npm install of $(2) failed; its real-CLI tests will skip"; \
else \
  echo "vendor-clis: npm not found; the real $(2) tests will skip"; \
fi
endef

test: lint typecheck vendor-clis  ## Lint, type check, the whole suite (on every supported Python), coverage per package.
	$(UV) run --locked pytest --cov-branch --cov-report= $(addprefix --cov=,$(notdir $(COVERAGE_PACKAGES)))
	$(MAKE) --no-print-directory test-pythons
	$(UV) run --locked python .ci/coverage_gate.py --fail-under $(COVERAGE_MIN) $(COVERAGE_PACKAGES)

test-pythons: setup  ## The test suite again on 3.10, 3.12 and 3.13.
	@set -e; for version in $(OTHER_PYTHONS); do \
	  interpreter=$$(ls $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$version.*/bin/python$$version 2>/dev/null | tail -n 1); \
	  [ -n "$$interpreter" ] || interpreter=$$(command -v python$$version || true); \
	  [ -n "$$interpreter" ] || { echo "Python $$version not found (pyenv or PATH)"; exit 1; }; \
	  echo "== Python $$version ($$interpreter)"; \
	  UV_PROJECT_ENVIRONMENT=.venv-py$$version $(UV) sync --quiet --locked --all-packages --python $$interpreter; \
	  UV_PROJECT_ENVIRONMENT=.venv-py$$version $(UV) run --quiet --locked --python $$interpreter pytest -q -p no:cacheprovider -m "not workspace"; \
	done

demo: setup  ## Stream a reply from a local fake OpenAI-compatible server: no keys, no network.
	$(UV) run --locked python -m claif_myprovider.demo

bench: setup  ## Benchmarks that print ratios against peers (openai SDK, llm) run from their own environments.
	cd bench && $(UV) run --locked --with openai python stream_throughput.py
	cd bench && $(UV) run --locked python concurrency.py
	cd bench && $(UV) run --locked python cold_start.py
	cd bench && $(UV) run --locked python gem_overhead.py
	cd bench && $(UV) run --locked python cod_overhead.py
	cd bench && $(UV) run --locked python cla_overhead.py

# Releases: one package at a time (PKG is its folder name; claif for shared/).
INDEX ?= testpypi
RELEASE = UV='$(UV)' $(UV) run --locked python tools/release.py

build: setup  ## Build every package, each into dist/<package>/.
	$(RELEASE) build

publish: setup  ## Publish one package: make publish PKG=claif_gem [INDEX=testpypi|pypi|<upload url>].
	@[ -n "$(PKG)" ] || { echo "usage: make publish PKG=<package> [INDEX=testpypi|pypi|<url>]" >&2; exit 2; }
	$(RELEASE) publish $(PKG) $(INDEX)

bump: setup  ## Bump one package's version and the lock: make bump PKG=claif_gem PART=patch|minor|major.
	@[ -n "$(PKG)" ] && [ -n "$(PART)" ] || { echo "usage: make bump PKG=<package> PART=patch|minor|major" >&2; exit 2; }
	$(RELEASE) bump $(PKG) $(PART)
