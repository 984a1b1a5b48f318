#!/usr/bin/env bash
# Makes the moto AWS emulator available to npm start and the tests.
# Sourced (so ISS_TRACKER_PYTHON reaches the caller) or run. Idempotent and fast when present.
#   - uses ISS_TRACKER_PYTHON or python3 when it already has moto 5.2.1 with its server extras;
#   - otherwise creates .venv-emulator from emulator/requirements.txt and exports ISS_TRACKER_PYTHON.
_iss_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_iss_probe='import moto, moto.server, flask; assert moto.__version__ == "5.2.1", moto.__version__'
_iss_python="${ISS_TRACKER_PYTHON:-python3}"
if ! command -v "$_iss_python" >/dev/null 2>&1; then
  echo "setup-emulator: '$_iss_python' not found; install Python 3.9+ (the emulator, moto, is a Python package)" >&2
  return 1 2>/dev/null || exit 1
fi
if "$_iss_python" -c "$_iss_probe" >/dev/null 2>&1; then
  echo "setup-emulator: using moto 5.2.1 from $_iss_python"
else
  _iss_venv="$_iss_root/.venv-emulator"
  if ! "$_iss_venv/bin/python" -c "$_iss_probe" >/dev/null 2>&1; then
    echo "setup-emulator: installing moto[server]==5.2.1 into $_iss_venv"
    "$_iss_python" -m venv "$_iss_venv" &&
      "$_iss_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$_iss_root/scripts/emulator/requirements.txt" || {
      echo "setup-emulator: could not install moto; try: $_iss_python -m pip install -r scripts/emulator/requirements.txt" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export ISS_TRACKER_PYTHON="$_iss_venv/bin/python"
  echo "setup-emulator: using $ISS_TRACKER_PYTHON"
fi
unset _iss_root _iss_probe _iss_python _iss_venv
