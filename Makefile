# One command per job; each does its own set-up, so a fresh clone needs only python3 and pip.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else the copy pip installed as a module (see `setup`).
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export UV_PYTHON_DOWNLOADS := never

.PHONY: help setup sync lint typecheck test demo bench

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

test: lint typecheck  ## Lint, type check and the whole test suite.
	$(UV) run --locked pytest

demo: setup  ## Stream a reply from a local fake OpenAI-compatible server: no keys, no network.
	$(UV) run --locked python -m claif_myprovider.demo
