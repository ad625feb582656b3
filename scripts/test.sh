#!/usr/bin/env bash
# Set up everything (Python packages, Chromium, nginx) and run the whole test suite, then the
# engine's tests again on the newest stack (Python 3.12 with the newest JAX: scripts/test_newest.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
python3 -m ruff check .
python3 -m pytest "$@"
bash scripts/test_newest.sh "$@"
