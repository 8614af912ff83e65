#!/usr/bin/env bash
# Installs the pinned schemathesis (and its pinned dependencies, scripts/schemathesis-requirements.txt)
# from PyPI into a virtual environment under .cache/schemathesis/, for the reliability suite.
# Idempotent: does nothing when that venv already has the pinned version. Needs python3 with the venv
# module (Debian: python3-venv, installed with apt-get when missing). Prints the executable's path.
set -euo pipefail
VERSION="4.32.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$root/scripts/schemathesis-requirements.txt"
venv="$root/.cache/schemathesis/venv"
bin="$venv/bin/schemathesis"
stamp="$venv/.requirements"

if [ -x "$bin" ] && [ -f "$stamp" ] && cmp -s "$requirements" "$stamp" &&
  "$bin" --version 2>/dev/null | grep -q "version $VERSION\$"; then
  echo "$bin"
  exit 0
fi
grep -q "^schemathesis==$VERSION\$" "$requirements" ||
  { echo "install-schemathesis: $requirements does not pin schemathesis==$VERSION" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 ||
  { echo "install-schemathesis: python3 is needed (Debian: apt-get install python3 python3-venv)" >&2; exit 1; }

if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      { echo "install-schemathesis: python3 lacks venv/ensurepip and not root; install python3-venv" >&2; exit 1; }
    SUDO="sudo"
  fi
  echo "install-schemathesis: apt-get install python3-venv" >&2
  $SUDO apt-get update -qq >/dev/null 2>&1 || echo "install-schemathesis: apt-get update failed (continuing)" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >&2
fi

echo "install-schemathesis: installing schemathesis $VERSION into .cache/schemathesis/venv" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2
"$bin" --version | grep -q "version $VERSION\$" ||
  { echo "install-schemathesis: $bin does not report version $VERSION" >&2; exit 1; }
cp "$requirements" "$stamp"
echo "$bin"
