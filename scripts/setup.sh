#!/usr/bin/env bash
# Installs what OptiRace needs on a fresh machine. Idempotent: fast when everything is present.
#   scripts/setup.sh          the app's Python packages
#   scripts/setup.sh test     plus the test extras and Debian's chromium + chromium-driver
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
extra=""
if [ "${1:-}" = "test" ]; then
  extra="[test]"
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "== installing chromium and chromium-driver (Debian packages)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi
echo "== installing Python packages (.${extra})"
$PY -m pip install --disable-pip-version-check -q -e ".${extra}"
