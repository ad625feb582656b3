# Sourced by the setup and test scripts: find_python X.Y prints the path of a Python X.Y interpreter.
# Order: $PYTHON<XY> (e.g. PYTHON312=/usr/bin/python3.12), pyenv's newest X.Y.*, then pythonX.Y on PATH.
# pyenv's shims answer for every installed version but run only the selected one, so pyenv is asked
# for the interpreter itself, and whatever is found must say it is X.Y.
find_python() {
  local want="$1" var="PYTHON${1/./}" py=""
  py="${!var:-}"
  if [ -z "$py" ] && command -v pyenv >/dev/null 2>&1; then
    py="$(ls -d "$(pyenv root)"/versions/"$want".*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)"
  fi
  if [ -z "$py" ]; then
    py="$(command -v "python$want" || true)"
  fi
  if [ -z "$py" ] || ! "$py" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$want'.split('.')))" 2>/dev/null; then
    echo "no Python $want found: install it (e.g. \`pyenv install $want\` or Debian's python$want)," \
      "or name it with $var=/path/to/python$want" >&2
    return 1
  fi
  echo "$py"
}

# make_venv DIR PYTHON: creates the virtual environment DIR with PYTHON unless it is there already
# (one made with another Python minor version is made again).
make_venv() {
  local dir="$1" py="$2"
  if [ -x "$dir/bin/python" ] && [ "$("$dir/bin/python" -c 'import sys; print(sys.version_info[:2])')" = \
      "$("$py" -c 'import sys; print(sys.version_info[:2])')" ]; then
    return 0
  fi
  echo "== creating $dir with $("$py" --version)"
  rm -rf "$dir"
  "$py" -m venv "$dir"
}

# installed_already DIR KEY: true when DIR's last install was made for KEY (a hash of what was asked
# and of pyproject.toml), so setup is a few milliseconds when nothing changed. mark_installed DIR KEY
# records it after a successful install.
installed_already() { [ -f "$1/.optirace-installed" ] && [ "$(cat "$1/.optirace-installed")" = "$2" ]; }
mark_installed() { echo "$2" >"$1/.optirace-installed"; }
