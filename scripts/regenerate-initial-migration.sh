#!/usr/bin/env bash
# Regenerates migration 0001 from the tables. Only while Guarita has never been deployed: once a
# release exists, schema changes become new revisions (`alembic revision --autogenerate`).
# Later revisions are hand-written (0002: PostgreSQL partitions, docs/scale.md) and stay; they are
# set aside while 0001 is generated, and they create only what 0001 does not have yet.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
versions=src/guarita/storage/migrations/versions
rm -f $versions/0001_initial.py
mkdir "$tmp/later"
find $versions -maxdepth 1 -name '0*.py' -exec mv {} "$tmp/later/" \;
restore() { mv "$tmp/later/"*.py $versions/ 2>/dev/null || true; rm -rf "$tmp"; }
trap restore EXIT
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from guarita.storage.migrate import alembic_config
cfg = alembic_config(f"sqlite+aiosqlite:///{sys.argv[1]}/gen.db")
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
mv $versions/0001_initial_schema.py $versions/0001_initial.py
.venv/bin/ruff format -q $versions/0001_initial.py || true
