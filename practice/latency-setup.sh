#!/usr/bin/env bash
# practice/latency-setup.sh — practice/latency.py(NFQUEUE 지연기)에 필요한 것을 준비한다.
#
#   * Debian 패키지: iptables(iptables-legacy), libnetfilter-queue-dev, gcc, python3-dev, python3-venv, iputils-ping(selftest용)
#   * 전용 venv: /opt/airflow-class/latency-venv (시스템 /usr/bin/python3 기반) + NetfilterQueue>=1.1
#
# 멱등(idempotent): 이미 갖춰져 있으면 아무것도 출력하지 않고 0으로 끝난다.
# apt/pip 출력은 로그 파일(기본 /opt/airflow-class/latency-setup.log)에만 남는다.
# 환경 변수: LATENCY_VENV(venv 경로), LATENCY_SETUP_LOG(로그 경로), LATENCY_SETUP_VERBOSE=1(진행 메시지 출력).
set -euo pipefail

VENV="${LATENCY_VENV:-/opt/airflow-class/latency-venv}"
LOG="${LATENCY_SETUP_LOG:-/opt/airflow-class/latency-setup.log}"
BASE_PY=/usr/bin/python3
PKGS=(iptables libnetfilter-queue-dev gcc python3-dev python3-venv iputils-ping)

say() { [[ "${LATENCY_SETUP_VERBOSE:-0}" == 1 ]] && echo "[latency-setup] $*" >&2 || true; }
die() {
  echo "[latency-setup] 오류: $*" >&2
  [[ -f "$LOG" ]] && { echo "[latency-setup] 로그 마지막 20줄 ($LOG):" >&2; tail -n 20 "$LOG" >&2; }
  exit 1
}

[[ $EUID -eq 0 ]] || die "root 권한이 필요합니다 (apt-get, /opt 쓰기)."

venv_ok() { [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import netfilterqueue' 2>/dev/null; }
pkgs_missing() {
  local p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# Fast path: nothing to do, print nothing.
if venv_ok && [[ -z "$(pkgs_missing)" ]] && command -v iptables-legacy >/dev/null; then
  exit 0
fi

mkdir -p "$(dirname "$VENV")" "$(dirname "$LOG")"
# Serialise concurrent runs (e.g. two class scripts starting at once).
exec 9>"$(dirname "$VENV")/.latency-setup.lock"
flock 9

echo "=== latency-setup $(date -Is) ===" >>"$LOG"

mapfile -t missing < <(pkgs_missing)
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]} (로그: $LOG)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >>"$LOG" 2>&1 || die "apt-get update 실패"
  apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 \
    || die "apt-get install ${missing[*]} 실패"
fi
command -v iptables-legacy >/dev/null || die "iptables-legacy 명령이 없습니다 (iptables 패키지 확인)."

if ! venv_ok; then
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "venv 생성: $VENV"
    "$BASE_PY" -m venv "$VENV" >>"$LOG" 2>&1 || die "venv 생성 실패: $VENV"
  fi
  say "pip install NetfilterQueue (빌드에 수십 초 걸릴 수 있음, 로그: $LOG)"
  # pip's harmless "WARNING: Location ..." lines about missing local indexes go to the log too.
  "$VENV/bin/python" -m pip install --no-input --disable-pip-version-check 'NetfilterQueue>=1.1,<2' \
    >>"$LOG" 2>&1 || die "pip install NetfilterQueue 실패"
  venv_ok || die "설치 후에도 'import netfilterqueue' 가 실패합니다."
  say "완료: $VENV/bin/python -c 'import netfilterqueue' OK"
fi
exit 0
