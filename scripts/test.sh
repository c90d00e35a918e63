#!/usr/bin/env bash
# Runs the whole suite. PostgreSQL and SMTP servers are started by the suite itself on loopback
# and stopped when it ends (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export GUARITA_ENV=test PYTHONDONTWRITEBYTECODE=1
mkdir -p artifacts
.venv/bin/python -m pytest -p no:cacheprovider "$@"
