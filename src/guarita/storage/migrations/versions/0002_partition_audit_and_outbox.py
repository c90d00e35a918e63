"""audit checkpoints; monthly partitions of the audit log and the outbox on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 04:30:00

Written by hand, not regenerated with 0001 (docs/scale.md › Partitioning the audit and outbox
tables by month): autogenerate runs on SQLite and knows nothing of partitions, and a database
already at 0001 — with rows — must be converted, which only a revision of its own does.

On PostgreSQL each table is rebuilt as ``PARTITION BY RANGE (created_at)``: the old table is
renamed, the partitioned one created with the same columns and defaults (so ``id`` keeps drawing
from the same sequence, which then changes owner), one partition per month from the oldest row to
:data:`~guarita.storage.partitions.MONTHS_AHEAD` months ahead plus a default partition, the rows
copied, the old table dropped, and the keys and indexes made again — the primary key and the
unique hash now with ``created_at`` (a partitioned table's unique keys must include the partition
key). One transaction, as every migration here. SQLite keeps plain tables.

``audit_checkpoints`` is an ordinary table, so the regenerated 0001 creates it
(``scripts/regenerate-initial-migration.sh``); this revision creates it only on a database made
by an earlier 0001, and leaves it to 0001's downgrade.

For a table of hundreds of gigabytes the copy is the wrong tool: attach the old table as one
partition instead (docs/scale.md says how).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from guarita.storage.partitions import (
    MONTHS_AHEAD,
    add_months,
    create_default_sql,
    create_month_sql,
    month_of,
)
from guarita.storage.tables import AuditCheckpoint
from guarita.storage.types import utcnow

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The keys and indexes of 0001, by table: partitioned (upgrade) and plain (downgrade).
_PARTITIONED_KEYS = {
    "audit_events": [
        "ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY (id, created_at)",
        "ALTER TABLE audit_events ADD CONSTRAINT uq_audit_events_hash UNIQUE (hash, created_at)",
    ],
    "outbox_messages": [
        "ALTER TABLE outbox_messages ADD CONSTRAINT pk_outbox_messages "
        "PRIMARY KEY (id, created_at)",
    ],
}
_PLAIN_KEYS = {
    "audit_events": [
        "ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY (id)",
        "ALTER TABLE audit_events ADD CONSTRAINT uq_audit_events_hash UNIQUE (hash)",
    ],
    "outbox_messages": [
        "ALTER TABLE outbox_messages ADD CONSTRAINT pk_outbox_messages PRIMARY KEY (id)",
    ],
}
_INDEXES = {
    "audit_events": [
        "CREATE INDEX ix_audit_events_created_at ON audit_events (created_at)",
        "CREATE INDEX ix_audit_events_subject ON audit_events (subject)",
        "CREATE INDEX ix_audit_events_tag ON audit_events (tag)",
    ],
    "outbox_messages": [
        "CREATE INDEX ix_outbox_due ON outbox_messages (status, next_attempt_at)",
        "CREATE INDEX ix_outbox_messages_account_id ON outbox_messages (account_id)",
    ],
}


def _is_partitioned(table: str) -> bool:
    return op.get_bind().execute(sa.text(
        "SELECT 1 FROM pg_partitioned_table t JOIN pg_class c ON c.oid = t.partrelid "
        "WHERE c.relname = :table AND c.relnamespace = to_regnamespace(current_schema())"
    ), {"table": table}).first() is not None


def _rebuild(table: str, *, partitioned: bool) -> None:
    bind = op.get_bind()
    old = f"{table}_before_0002" if partitioned else f"{table}_partitioned"
    sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    # The same columns, types and defaults: ``id`` keeps drawing from the same sequence.
    if partitioned:
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) "
                   "PARTITION BY RANGE (created_at)")
        oldest = bind.execute(sa.text(f"SELECT min(created_at) FROM {old}")).scalar()
        month = month_of(oldest or utcnow())
        last = add_months(month_of(utcnow()), MONTHS_AHEAD)
        while month <= last:
            op.execute(create_month_sql(table, month))
            month = add_months(month, 1)
        op.execute(create_default_sql(table))
    else:
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS)")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    if sequence:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    op.execute(f"DROP TABLE {old} CASCADE")
    for statement in (_PARTITIONED_KEYS if partitioned else _PLAIN_KEYS)[table] + _INDEXES[table]:
        op.execute(statement)


def upgrade() -> None:
    # The model's table as 0001 makes it (checkfirst: a regenerated 0001 already did).
    AuditCheckpoint.__table__.create(op.get_bind(), checkfirst=True)
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("audit_events", "outbox_messages"):
        if not _is_partitioned(table):
            _rebuild(table, partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("audit_events", "outbox_messages"):
            if _is_partitioned(table):
                _rebuild(table, partitioned=False)
