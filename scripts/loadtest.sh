#!/usr/bin/env bash
# `make loadtest`: the mixed load (bench/loadtest/run.py); arguments pass through
# (--target single|cluster|both, --minutes N, …). locust comes from the lock file (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -u bench/loadtest/run.py "$@"  # -u: its lines in order with the scripts'
