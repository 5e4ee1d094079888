#!/usr/bin/env bash
# Idempotent set-up shared by the README's two commands (root, Debian/Ubuntu):
# the grader's venv (.venv) and the local practice node. A second run reuses both.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ "$(id -u)" -eq 0 ] || { echo "root로 실행하세요: bash $0 (root 셸에서)" >&2; exit 1; }

log() { printf '[setup] %s\n' "$*" >&2; }
quiet_pip() {  # pip prints one warning per missing local index on some machines; keep its log
  "$@" >/tmp/airflow-grader-pip.log 2>&1 || { grep -v '^WARNING: Location' /tmp/airflow-grader-pip.log >&2; return 1; }
}

# Python >= 3.11 with venv for the grader itself.
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON=$(command -v "$candidate"); break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  log "python3-venv 설치"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  PYTHON=$(command -v python3)
fi

# Headless Chromium (and its WebDriver) and Korean fonts: the HTML report and the course's HTML
# are checked in a real browser, the screenshots in images/ are taken with it; Graphviz draws
# the diagrams.
missing=()
for p in chromium chromium-driver graphviz fonts-noto-cjk fonts-noto-color-emoji; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "Debian 패키지 설치: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The grader, its tests and the course (Jupyter, nbgrader and the guide's Airflow for the DAG
# exercises), pinned by the practice node's constraints file so Airflow resolves as on the node.
CONSTRAINTS=practice/constraints-airflow-2.11.2-py3.11.txt
stamp=$(cat pyproject.toml "$CONSTRAINTS" | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/grade ] || [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$stamp" ]; then
  log "grader venv 준비 (.venv)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  quiet_pip .venv/bin/pip install --upgrade pip
  quiet_pip .venv/bin/pip install -e ".[test,course]" -c "$CONSTRAINTS"
  echo "$stamp" >.venv/.setup-stamp
fi

bash practice/node up
