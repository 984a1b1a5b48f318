#!/usr/bin/env bash
# checkov in its own virtualenv, .venv-checkov, from checkov/requirements.txt (every package pinned:
# checkov pins an old boto3 that must never meet the project's other Python tools).
#
#   bash scripts/checkov.sh                 set up only (CI runs this before npm test)
#   bash scripts/checkov.sh --synth [args]  synthesize both stacks into a temporary directory and
#                                           scan them (npm run checkov; ACCOUNT_B_ID defaults to
#                                           222222222222, the policies' shape does not depend on it)
#   bash scripts/checkov.sh <dir> [args]    scan already synthesized stacks, e.g. cdktf.out/stacks
#
# Idempotent and fast when present: the venv records the sha256 of the requirements (comments aside) and the
# Python it was built with, and is rebuilt from scratch (--clear) only when either changes or a
# previous install did not finish. CHECKOV_PYTHON picks the interpreter (default python3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv-checkov"
requirements="$root/scripts/checkov/requirements.txt"
config="$root/scripts/checkov/.checkov.yaml"
python="${CHECKOV_PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "checkov.sh: '$python' not found: install Python 3.9-3.12 or set CHECKOV_PYTHON" >&2
  exit 1
fi
want="$(grep -Ev '^\s*(#|$)' "$requirements" | sha256sum | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version.split()[0])')"
stamp="$venv/.installed-from"
if [ ! -x "$venv/bin/checkov" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "checkov.sh: installing $(grep -E '^checkov==' "$requirements") and its pinned dependencies into $venv" >&2
  rm -f "$stamp"
  "$python" -m venv --clear "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
  "$venv/bin/python" -m pip check >&2
  echo "$want" > "$stamp"
fi

if [ "$#" -eq 0 ]; then
  exit 0
fi
if [ "$1" = "--synth" ]; then
  shift
  out="$(mktemp -d "${TMPDIR:-/tmp}/iss-checkov.XXXXXX")"
  trap 'rm -rf "$out"' EXIT
  (cd "$root" && CDKTF_OUTDIR="$out" ACCOUNT_B_ID="${ACCOUNT_B_ID:-222222222222}" \
    DEPLOYER_PRINCIPAL_ARN="${DEPLOYER_PRINCIPAL_ARN:-arn:aws:iam::111111111111:role/deployer}" \
    ISS_TRACKER_LOCAL_ENDPOINT= npx --no-install tsx main.ts)
  "$venv/bin/checkov" --config-file "$config" -d "$out/stacks" "$@"
  exit $?
fi
dir="$1"
shift
exec "$venv/bin/checkov" --config-file "$config" -d "$dir" "$@"
