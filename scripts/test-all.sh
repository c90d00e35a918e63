#!/usr/bin/env bash
# The whole suite, as `make test` runs it (docs/testing.md › Time): everything but the tests
# marked `serial` on TEST_WORKERS processes (pytest-xdist), then the `serial` ones alone — they
# compare timings, hold requests to time bounds, or kill and race server processes, and another
# worker's load must not decide them. Both parts always run; the exit code fails if either did.
set -uo pipefail
cd "$(dirname "$0")/.."
workers=${TEST_WORKERS:-2}
parallel=0 serial=0
if [ "$workers" -gt 1 ]; then
  scripts/test.sh -n "$workers" --dist loadfile -m "not serial" "$@" || parallel=$?
  scripts/test.sh -m serial "$@" || serial=$?
  [ "$serial" -eq 5 ] && serial=0  # pytest's "no tests collected": none of them was asked for
else
  scripts/test.sh "$@" || parallel=$?
fi
[ "$parallel" -eq 0 ] && [ "$serial" -eq 0 ]
