"""Monthly partitions of the audit log and the outbox on PostgreSQL (docs/scale.md ›
Partitioning the audit and outbox tables by month): made by the migration, a row goes to its
month's partition (or the default one), months are made ahead of time by any number of workers
at once, and a month that landed in the default partition is carved out of it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from guarita.storage import partitions
from guarita.storage.audit import record, verify
from guarita.storage.database import Database
from guarita.storage.migrate import upgrade_async
from guarita.storage.partitions import add_months, ensure_months, month_of
from guarita.storage.types import utcnow

pytestmark = pytest.mark.postgres


def _postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite keeps plain tables")


async def _where(runtime, table: str) -> dict[int, str]:  # noqa: ANN001
    """Row id → the partition that holds it."""
    async with runtime.db.read() as session:
        rows = await session.execute(text(f"SELECT id, tableoid::regclass::text FROM {table}"))  # noqa: S608 - constant
        return dict(rows.all())


async def test_the_migration_partitions_both_tables_by_month(runtime, backend):
    _postgres_only(backend)
    async with runtime.db.read() as session:
        parents = (await session.execute(text(
            "SELECT c.relname, t.partstrat::text FROM pg_partitioned_table t "
            "JOIN pg_class c ON c.oid = t.partrelid ORDER BY 1"
        ))).all()
        assert parents == [("audit_events", "r"), ("outbox_messages", "r")]
        now = month_of(utcnow())
        for table in partitions.PARTITIONED:
            children = {name for (name,) in (await session.execute(text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t"), {"t": table}))}
            expected = {partitions.partition_name(table, add_months(now, n)) for n in range(3)}
            assert expected | {f"{table}_default"} <= children
            key = (await session.execute(text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:t AS regclass) AND contype = 'p'"), {"t": table})).scalar()
            assert key == "PRIMARY KEY (id, created_at)"
    assert await ensure_months_in(runtime, utcnow()) == []  # the migration made them


async def ensure_months_in(runtime, now: datetime) -> list[str]:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        return await ensure_months(session, now)


async def test_rows_of_different_months_land_in_different_partitions(runtime, backend):
    _postgres_only(backend)
    march, may = datetime(2031, 3, 10, tzinfo=UTC), datetime(2031, 5, 2, tzinfo=UTC)
    await ensure_months_in(runtime, march)  # 2031-03 … 2031-05
    beyond = datetime(2040, 1, 1, tzinfo=UTC)  # no partition: the default takes it
    async with runtime.db.transaction() as session:
        for at in (march, may, beyond):
            await record(session, "account.login.succeeded", subject="a", at=at)
    assert list((await _where(runtime, "audit_events")).values()) == [
        "audit_events_p203103", "audit_events_p203105", "audit_events_default"]
    async with runtime.db.read() as session:
        assert (await verify(session)).ok  # the walk crosses partitions in id order


async def test_months_ahead_are_made_once_even_by_two_workers_at_once(runtime, backend):
    when = datetime(2032, 7, 15, tzinfo=UTC)
    first, second = await asyncio.gather(ensure_months_in(runtime, when),
                                         ensure_months_in(runtime, when))
    if backend != "postgresql":
        assert first == second == []
        return
    made = ["audit_events_p203207", "audit_events_p203208", "audit_events_p203209",
            "outbox_messages_p203207", "outbox_messages_p203208", "outbox_messages_p203209"]
    assert sorted(first + second) == made  # one made them, the other found them made
    assert [] in (first, second)
    assert await ensure_months_in(runtime, when) == []


async def test_a_month_that_landed_in_the_default_partition_is_carved_out(runtime, backend):
    _postgres_only(backend)
    at = datetime(2033, 5, 20, tzinfo=UTC)
    async with runtime.db.transaction() as session:
        await record(session, "account.login.succeeded", subject="early", at=at)
    assert list((await _where(runtime, "audit_events")).values()) == ["audit_events_default"]
    made = await ensure_months_in(runtime, at)
    assert "audit_events_p203305" in made
    assert list((await _where(runtime, "audit_events")).values()) == ["audit_events_p203305"]
    async with runtime.db.read() as session:
        assert (await verify(session)).ok


async def test_migrating_an_existing_database_keeps_its_rows_chain_and_sequence(
    postgres_cluster, backend
):
    """A database at 0001 with rows in several months becomes partitioned by 0002."""
    _postgres_only(backend)
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(postgres_cluster, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql("DROP DATABASE IF EXISTS guarita_existing WITH (FORCE)")
        await conn.exec_driver_sql("CREATE DATABASE guarita_existing")
    await admin.dispose()
    url = postgres_cluster.rsplit("/", 1)[0] + "/guarita_existing"
    await upgrade_async(url, "0001")
    db = Database(url, audit_key=b"k" * 32)
    try:
        old = month_of(utcnow())
        months = [add_months(old, -5), add_months(old, -2), old]
        async with db.transaction() as session:
            for at in months:
                await record(session, "account.login.succeeded", subject="x", at=at)
        await upgrade_async(url)
        async with db.transaction() as session:
            placed = (await session.execute(text(
                "SELECT id, tableoid::regclass::text FROM audit_events ORDER BY id"))).all()
            assert placed == [(n + 1, partitions.partition_name("audit_events", at))
                              for n, at in enumerate(months)]
            assert (await record(session, "account.login.succeeded", subject="y")).id == 4
        async with db.read() as session:
            report = await verify(session)
        assert report.ok and report.checked == 4
    finally:
        await db.dispose()
