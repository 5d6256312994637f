#!/usr/bin/env bash
# One command for the checks CI runs: set up, lint, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "[dev]"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -q "$@"
