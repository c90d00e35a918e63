#!/usr/bin/env bash
# Creates .venv from uv.lock (pinned versions). Idempotent: does nothing when the lock has not
# changed since the last run. Uses the machine's Python; never downloads an interpreter.
#
# Bytecode is compiled ahead of time, for the dependencies and for src/ (the latter at every run:
# compileall skips what is up to date). Without it, every process compiles ~1,100 modules from
# source at start — ~2 CPU-seconds of the ~3.5 a `guarita` command costs — whenever
# PYTHONDONTWRITEBYTECODE is set (scripts/test.sh sets it; so do some CI images), which the suite's
# hundreds of `guarita` subprocesses and every server start paid again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
stamp=.venv/.guarita-lock
want=$(cat uv.lock pyproject.toml | sha256sum | cut -d' ' -f1)
compile_src() { .venv/bin/python -m compileall -q -j 0 src >/dev/null; }
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then compile_src; exit 0; fi
if [ ! -x .tools/bin/uv ]; then
  python3 -m venv .tools
  .tools/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
.tools/bin/uv sync --frozen --python python3 --quiet --compile-bytecode
compile_src
echo "$want" > "$stamp"
