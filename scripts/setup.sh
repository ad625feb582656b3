#!/usr/bin/env bash
# Installs what OptiRace needs on a fresh machine, in .venv/ (Python 3.12, the primary stack). Idempotent:
# fast when everything is present (pyproject.toml unchanged since the last install).
#   scripts/setup.sh          the app's Python packages
#   scripts/setup.sh test     plus the test extras, Debian's chromium + chromium-driver, and nginx
# PYTHON312=/path/to/python3.12 names the interpreter when neither pyenv nor PATH has one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/find_python.sh

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

py="$(find_python 3.12)" || { echo "scripts/setup.sh: the app runs on Python 3.12" >&2; exit 1; }
venv=.venv
make_venv "$venv" "$py"
key="$(cat pyproject.toml - <<<"$PWD .${extra}" | sha256sum | cut -c1-16)"
# `setup.sh` after `setup.sh test` finds the test extras already there: nothing to do either.
if installed_already "$venv" "$key" || { [ -z "$extra" ] && installed_already "$venv" \
    "$(cat pyproject.toml - <<<"$PWD .[test]" | sha256sum | cut -c1-16)"; }; then
  exit 0
fi
echo "== installing Python packages (.${extra}) into $venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -e ".${extra}"
mark_installed "$venv" "$key"
