#!/usr/bin/env bash
# Set up and serve the app on its defaults: http://localhost:5006/app
# PORT changes the port; extra arguments go to `panel serve`. Runs in .venv/ (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
port="${PORT:-5006}"
# Memory falls back when tabs close (see the Dockerfile): glibc's allocator for Python objects.
export PYTHONMALLOC="${PYTHONMALLOC:-malloc}"
# Compiled programs (and the network landscape's trained minimum) kept on disk, as in the container:
# a restarted server does not compile or train them again (optimizers/cache.py).
export OPTIRACE_JAX_CACHE="${OPTIRACE_JAX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/optirace/jax}"
exec .venv/bin/python -m panel serve app.py --port "$port" --address 127.0.0.1 --liveness \
  --allow-websocket-origin "localhost:$port" --allow-websocket-origin "127.0.0.1:$port" \
  --static-dirs assets=static --plugins optirace.serve_plugin "$@"
