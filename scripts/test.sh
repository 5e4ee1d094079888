#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), lint, unit tests and the integration tests
# against the real practice node (SSH, Redis, MariaDB, Airflow with Celery on loopback).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest -q "$@"
