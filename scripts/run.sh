#!/usr/bin/env bash
# Set up and serve the app on its defaults: http://localhost:5006/app
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec python3 -m panel serve app.py --port "${PORT:-5006}" --liveness --address "${ADDRESS:-0.0.0.0}" \
  --allow-websocket-origin "${ALLOW_ORIGIN:-localhost:${PORT:-5006}}" --static-dirs assets=static "$@"
