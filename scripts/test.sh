#!/usr/bin/env bash
# Set up everything (Python packages in .venv/, Chromium, nginx) and run the whole test suite on the
# primary stack (Python 3.12 with the newest releases pyproject.toml admits), then the engine, parity
# and property tests again on Python 3.11 with its newest releases and the torch.optim oracle
# (scripts/test_py311.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/python -m ruff check .
.venv/bin/python -m pytest "$@"
bash scripts/test_py311.sh "$@"
