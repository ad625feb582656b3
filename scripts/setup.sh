#!/usr/bin/env bash
# Installs what OptiRace needs on a fresh machine. Idempotent: fast when everything is present.
#   scripts/setup.sh          the app's Python packages
#   scripts/setup.sh test     plus the test extras, Debian's chromium + chromium-driver, and nginx
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
  # nginx checks and runs the course proxy config in the deploy tests; RUNLEVEL=1 keeps the
  # package from starting a system nginx on port 80.
  if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "== installing nginx (Debian package, for the proxy tests)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx >/dev/null
  fi
fi
echo "== installing Python packages (.${extra})"
$PY -m pip install --disable-pip-version-check -q -e ".${extra}"
