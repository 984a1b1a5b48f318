#!/usr/bin/env bash
# checkov in its own virtualenv (.venv-checkov) from checkov/requirements.txt (pinned: checkov pins
# an old boto3 that must not meet the project's tools). Idempotent and fast when already installed.
#   bash scripts/checkov.sh            set up only
#   bash scripts/checkov.sh <dir>      set up, then scan the synthesized stacks in <dir>
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-checkov"
want="$(grep -E '^checkov==' "$root/checkov/requirements.txt")"
if ! "$venv/bin/checkov" --version >/dev/null 2>&1 || [ "checkov==$("$venv/bin/checkov" --version 2>/dev/null)" != "$want" ]; then
  echo "checkov: installing $want into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/checkov/requirements.txt"
fi
if [ "$#" -gt 0 ]; then
  exec "$venv/bin/checkov" --config-file "$root/checkov/.checkov.yaml" -d "$1" "${@:2}"
fi
