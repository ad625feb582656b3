#!/usr/bin/env bash
# The engine on the newest stack: Python 3.12 with the newest releases that pyproject.toml's ranges
# admit (JAX, numpy, optax), in a virtual environment of its own (.venv-newest/). Runs the engine,
# optax-parity, surface, property and hostile-input tests. The torch.optim parity tests run on the
# primary stack (scripts/test.sh): the package index has no CPU-only torch for this Python, only
# CUDA builds of several GB.
#   PYTHON312=/path/to/python3.12 bash scripts/test_newest.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

py="${PYTHON312:-}"
# pyenv's shims answer for every installed version but run only the selected one: ask pyenv first.
if [ -z "$py" ] && command -v pyenv >/dev/null 2>&1; then
  py="$(ls -d "$(pyenv root)"/versions/3.12*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$py" ]; then
  py="$(command -v python3.12 || true)"
fi
if [ -z "$py" ] || ! "$py" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
  echo "scripts/test_newest.sh: no Python 3.12 found (set PYTHON312)" >&2
  exit 1
fi

venv=.venv-newest
if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv with $("$py" --version)"
  "$py" -m venv "$venv"
fi
echo "== installing the engine's newest stack into $venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade -e . \
  "optax>=0.2.8" "hypothesis>=6.100" "pytest>=8" "mpmath>=1.3"
"$venv/bin/python" - <<'PY'
import sys, jax, numpy, optax
print(f"== Python {sys.version.split()[0]}, jax {jax.__version__}, numpy {numpy.__version__}, optax {optax.__version__}")
PY
exec "$venv/bin/python" -m pytest -p no:cacheprovider tests/test_engine.py tests/test_parity_optax.py \
  tests/test_surfaces.py tests/test_properties.py tests/test_hostile_input.py "$@"
