"""Monthly range partitions of the audit log and the outbox on PostgreSQL (docs/scale.md ›
Partitioning the audit and outbox tables by month).

``audit_events`` and ``outbox_messages`` are ``PARTITION BY RANGE (created_at)`` there (migration
0002), with one partition per month, named ``<table>_pYYYYMM``, and a ``<table>_default``
partition that takes any row no month partition covers, so an insert never fails for want of a
partition. SQLite keeps plain tables; every function here is then a no-op.

:func:`ensure_months` creates the current month and the next :data:`MONTHS_AHEAD` ahead of time;
the worker calls it every hour (``messaging/worker.py``) and so does every retention run. It is
idempotent and serialised by an advisory lock, so any number of workers may run it at once. A
month whose rows already landed in the default partition (the worker was down for months) is
carved out of it: the default is detached, the month created, its rows moved, the default
attached again — all in the caller's transaction.

Every DDL statement here waits at most :data:`LOCK_TIMEOUT` for its table locks: adding or
dropping a partition locks the parent table, and waiting behind a long reader (``guarita audit
verify``) would queue every sign-in's audit append behind the DDL. A timed-out run fails and is
tried again at the next hour.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PARTITIONED = ("audit_events", "outbox_messages")
MONTHS_AHEAD = 2
LOCK_TIMEOUT = "5s"
_LOCK_ID = 0x6775617269746102  # "guarita\x02": partition maintenance and retention


def month_of(at: datetime) -> datetime:
    """The first instant (UTC) of the month of ``at``."""
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(month: datetime, count: int) -> datetime:
    years, index = divmod(month.month - 1 + count, 12)
    return month.replace(year=month.year + years, month=index + 1)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def default_name(table: str) -> str:
    return f"{table}_default"


def _literal(at: datetime) -> str:
    # Bounds are made here from datetimes, never from input; DDL takes no bind parameters.
    return f"'{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}+00'"


def _range(month: datetime) -> tuple[str, str]:
    return _literal(month), _literal(add_months(month, 1))


def create_month_sql(table: str, month: datetime) -> str:
    low, high = _range(month)
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(table, month)} PARTITION OF {table} "
            f"FOR VALUES FROM ({low}) TO ({high})")


def create_default_sql(table: str) -> str:
    return f"CREATE TABLE IF NOT EXISTS {default_name(table)} PARTITION OF {table} DEFAULT"


def _in_default_sql(table: str, month: datetime) -> str:
    low, high = _range(month)
    return (f"SELECT EXISTS (SELECT 1 FROM {default_name(table)} "  # noqa: S608 - table names are constants or catalog names matched by months()
            f"WHERE created_at >= {low} AND created_at < {high})")


def carve_month_sql(table: str, month: datetime) -> list[str]:
    """A month whose rows are in the default partition: PostgreSQL refuses to create the month
    while the default holds rows of its range, so they move with the default detached."""
    low, high = _range(month)
    where = f"WHERE created_at >= {low} AND created_at < {high}"
    default = default_name(table)
    return [
        f"ALTER TABLE {table} DETACH PARTITION {default}",
        create_month_sql(table, month),
        f"INSERT INTO {partition_name(table, month)} SELECT * FROM {default} {where}",  # noqa: S608 - table names are constants or catalog names matched by months()
        f"DELETE FROM {default} {where}",  # noqa: S608 - table names are constants or catalog names matched by months()
        f"ALTER TABLE {table} ATTACH PARTITION {default} DEFAULT",
    ]


_CHILDREN = text("""
    SELECT c.relname FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname = :table AND p.relnamespace = to_regnamespace(current_schema())
""")


async def is_partitioned(session: AsyncSession) -> bool:
    if session.bind.dialect.name != "postgresql":
        return False
    found = await session.execute(text(
        "SELECT 1 FROM pg_partitioned_table t JOIN pg_class c ON c.oid = t.partrelid "
        "WHERE c.relname = 'audit_events' AND c.relnamespace = to_regnamespace(current_schema())"
    ))
    return found.first() is not None


async def lock(session: AsyncSession) -> None:
    """Serialises partition maintenance and retention across processes, for this transaction,
    and bounds how long its DDL waits for table locks."""
    await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})


async def months(session: AsyncSession, table: str) -> dict[datetime, str]:
    """The month partitions of ``table``: first instant of the month → partition name."""
    pattern = re.compile(rf"^{table}_p(\d{{4}})(\d{{2}})$")
    found: dict[datetime, str] = {}
    for (name,) in (await session.execute(_CHILDREN, {"table": table})).all():
        match = pattern.match(name)
        if match:
            found[datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)] = name
    return dict(sorted(found.items()))


async def ensure_months(
    session: AsyncSession, now: datetime, ahead: int = MONTHS_AHEAD
) -> list[str]:
    """Creates the partitions of the month of ``now`` and the ``ahead`` next ones that are
    missing; returns their names. Takes :func:`lock`; commits with the caller's transaction."""
    if not await is_partitioned(session):
        return []
    await lock(session)
    created: list[str] = []
    first = month_of(now)
    for table in PARTITIONED:
        existing = await months(session, table)
        for step in range(ahead + 1):
            month = add_months(first, step)
            if month in existing:
                continue
            carve = (await session.execute(text(_in_default_sql(table, month)))).scalar()
            for statement in carve_month_sql(table, month) if carve else [
                create_month_sql(table, month)
            ]:
                await session.execute(text(statement))
            created.append(partition_name(table, month))
    return created
