#!/usr/bin/env bash
# The engine on Python 3.11 with the newest releases pyproject.toml admits there (JAX, numpy, optax),
# in a virtual environment of its own (.venv-py311/), with torch.optim as the parity oracle
# (`pip install torch==2.13.0`). torch is installed only here: for Python 3.12 the package index
# offers only CUDA builds of several GB, so the primary stack's run skips the torch tests, saying why.
# Runs the engine, parity (torch.optim, torch's schedulers, optax), conventions, surface, property and
# hostile-input tests, and the engine benchmark's comparison with torch.optim.
#   PYTHON311=/path/to/python3.11 bash scripts/test_py311.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/find_python.sh

py="$(find_python 3.11)" || { echo "scripts/test_py311.sh: the engine's second stack is Python 3.11" >&2; exit 1; }
venv=.venv-py311
make_venv "$venv" "$py"
tools=("optax==0.2.8" "hypothesis>=6.100" "pytest>=8.2" "mpmath>=1.3")
key="$(cat pyproject.toml - <<<"$PWD ${tools[*]} torch==2.13.0" | sha256sum | cut -c1-16)"
if ! installed_already "$venv" "$key"; then
  echo "== installing the engine's stack into $venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade -e . "${tools[@]}"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q torch==2.13.0
  mark_installed "$venv" "$key"
fi
"$venv/bin/python" - <<'PY'
import sys, jax, numpy, optax, torch
print(f"== Python {sys.version.split()[0]}, jax {jax.__version__}, numpy {numpy.__version__}, "
      f"optax {optax.__version__}, torch {torch.__version__}")
PY
exec "$venv/bin/python" -m pytest -p no:cacheprovider tests/test_engine.py tests/test_parity_torch.py \
  tests/test_parity_schedules.py tests/test_parity_optax.py tests/test_ftrl_newton.py tests/test_surfaces.py \
  tests/test_conventions.py \
  tests/test_training_parity_torch.py \
  "tests/test_cli.py::test_bench_quick_races_torch_optim_to_the_same_points" \
  tests/test_properties.py tests/test_hostile_input.py "$@"
