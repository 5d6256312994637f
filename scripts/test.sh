#!/usr/bin/env bash
# One command for the checks CI runs: set up, lint, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "[dev]"
scripts/azurite.sh          # a real Azure Storage server for the storage tests
scripts/checkov.sh          # the Bicep scanner, in its own environment
export DRIFT_CHECKOV="$PWD/.venv-checkov/bin/checkov"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -q "$@"
