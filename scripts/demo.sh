#!/usr/bin/env bash
# One command for a newcomer: set up, then run the whole loop locally (`drift demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "[demo]"   # the demo trains scikit-learn models on pandas frames
exec .venv/bin/drift demo "$@"
