#!/usr/bin/env bash
# Creates .venv and installs drift into it. Upgrading pip first matters: pip 23 cannot
# resolve azure-ai-ml's dependency tree.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -U pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
