#!/usr/bin/env bash
# Installs Azurite (the Azure Storage emulator) into node_modules/ for the Azure storage tests.
# Idempotent: does nothing when node_modules/.bin/azurite-blob is already there.
# AZURITE_VERSION overrides the npm version range (default: 3, i.e. the newest 3.x whose
# declared Node engine fits; 3.35.0 on Node 20, about 30 s on a fresh machine).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x node_modules/.bin/azurite-blob ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "scripts/azurite.sh: npm not found; install Node.js (with npm) first" >&2
  exit 1
fi
npm install --no-save --no-audit --no-fund --loglevel=error "azurite@${AZURITE_VERSION:-3}"
node_modules/.bin/azurite-blob --version
