#!/usr/bin/env bash
# Creates .venv from uv.lock (pinned versions). Idempotent: does nothing when the lock has not
# changed since the last run. Uses the machine's Python; never downloads an interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
stamp=.venv/.guarita-lock
want=$(cat uv.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
if [ ! -x .tools/bin/uv ]; then
  python3 -m venv .tools
  .tools/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
.tools/bin/uv sync --frozen --python python3 --quiet
echo "$want" > "$stamp"
