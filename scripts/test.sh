#!/usr/bin/env bash
# One command for the checks CI runs: set up, lint, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "[dev,demo,bench]"
scripts/azurite.sh          # a real Azure Storage server for the storage tests
scripts/checkov.sh          # the Bicep scanner, in its own environment
# Debian's chromium renders /api/report in tests/functions/test_report_browser.py.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; } \
    || echo "chromium: not installed; the browser test will say so"
fi
export DRIFT_CHECKOV="$PWD/.venv-checkov/bin/checkov"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Whole files per worker (--dist loadfile): the reliability figures of one requirement come
# from one worker. DRIFT_TEST_WORKERS=0 runs in one process.
exec .venv/bin/python -m pytest -q -n "${DRIFT_TEST_WORKERS:-auto}" --dist loadfile "$@"
