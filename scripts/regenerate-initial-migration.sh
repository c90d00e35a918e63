#!/usr/bin/env bash
# Regenerates migration 0001 from the tables. Only while Guarita has never been deployed: once a
# release exists, schema changes become new revisions (`alembic revision --autogenerate`).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f src/guarita/storage/migrations/versions/0001_initial.py
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from guarita.storage.migrate import alembic_config
cfg = alembic_config(f"sqlite+aiosqlite:///{sys.argv[1]}/gen.db")
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
mv src/guarita/storage/migrations/versions/0001_initial_schema.py src/guarita/storage/migrations/versions/0001_initial.py
.venv/bin/ruff format -q src/guarita/storage/migrations/versions/0001_initial.py || true
rm -rf "$tmp"
