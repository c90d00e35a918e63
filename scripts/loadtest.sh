#!/usr/bin/env bash
# `make loadtest`: the mixed load (bench/loadtest/run.py) against one server (TARGET=single) or
# the cluster of `make cluster` (TARGET=cluster) for LOADTEST_MINUTES (10).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/loadtest/run.py --target "${TARGET:-single}" \
  --minutes "${LOADTEST_MINUTES:-10}" ${LOADTEST_ARGS:-}
