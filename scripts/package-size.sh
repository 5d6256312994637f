#!/usr/bin/env bash
# The installed size of what the Functions app deploys: `pip install --target` of a
# requirements file into an empty folder, then `du`. Usage: scripts/package-size.sh [FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-requirements.txt}"
python="${PYTHON:-.venv/bin/python}"
target="$(mktemp -d)"
trap 'rm -rf "$target"' EXIT
"$python" -m pip install --quiet --disable-pip-version-check --target "$target" -r "$file"
echo "$file: $(du -sm "$target" | cut -f1) MB on disk, $(du -sm --apparent-size "$target" | cut -f1) MB apparent, $(find "$target" -maxdepth 1 -name '*.dist-info' | wc -l) distributions"
