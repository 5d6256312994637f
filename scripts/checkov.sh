#!/usr/bin/env bash
# Installs checkov (the Bicep scanner) into its own .venv-checkov: it pins packaging and
# pytest versions that must not leak into drift's environment. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv-checkov/bin/checkov ]; then
  "$PYTHON" -m venv .venv-checkov
  .venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -U pip
  .venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check "checkov==3.3.30"
fi
