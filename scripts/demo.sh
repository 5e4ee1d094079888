#!/usr/bin/env bash
# The main job on the embedded default: stand up the local practice node and grade it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
info=$(bash "$ROOT/practice/node" info)
field() { printf '%s' "$info" | "$ROOT/.venv/bin/python" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
echo
echo "\$ grade --host $(field host) --port $(field port) --user $(field user) --key $(field key) --name 연습노드"
exec "$ROOT/.venv/bin/grade" --host "$(field host)" --port "$(field port)" --user "$(field user)" \
  --key "$(field key)" --name 연습노드 "$@"
