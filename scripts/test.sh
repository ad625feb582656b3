#!/usr/bin/env bash
# Set up everything (Python packages, Chromium) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
python3 -m ruff check .
exec python3 -m pytest "$@"
