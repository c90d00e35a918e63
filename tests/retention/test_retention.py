"""Retention of the audit log and the outbox (docs/scale.md › Partitioning the audit and outbox
tables by month; ``GUARITA_AUDIT__RETENTION_MONTHS``, ``GUARITA_OUTBOX__RETENTION_MONTHS``).

The audit log loses its oldest months and ``guarita audit verify`` still passes, starting at the
checkpoint; a deletion among the kept events, or a made-up checkpoint, is still caught. The
outbox never loses a message that is still waiting to be sent. Both backends: partitions dropped
on PostgreSQL, rows deleted on SQLite.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from structlog.testing import capture_logs

from guarita.domain.audit_tags import AuditTag
from guarita.messaging.worker import maintain_forever
from guarita.storage import retention
from guarita.storage.audit import Anchor, record, verify
from guarita.storage.partitions import add_months, ensure_months, month_of, partition_name
from guarita.storage.tables import AuditCheckpoint, AuditEvent, OutboxMessage
from guarita.storage.types import utcnow
from tests.support.server import GUARITA, ROOT, server_env

pytestmark = pytest.mark.postgres


def _month(back: int) -> datetime:
    """An instant ``back`` months ago (now, for 0)."""
    return add_months(month_of(utcnow()), -back) + timedelta(hours=1) if back else utcnow()


async def _months_exist(runtime, backs: list[int]) -> None:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        for back in backs:
            await ensure_months(session, _month(back), ahead=0)


async def _events(runtime, backs: list[int]) -> list[AuditEvent]:  # noqa: ANN001
    await _months_exist(runtime, backs)
    async with runtime.db.transaction() as session:
        return [await record(session, "account.login.succeeded", subject=f"m{back}",
                             at=_month(back)) for back in backs]


async def _audit_rows(runtime) -> list[AuditEvent]:  # noqa: ANN001
    async with runtime.db.read() as session:
        return list((await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars())


async def _tables(runtime) -> set[str]:  # noqa: ANN001
    async with runtime.db.read() as session:
        return {name for (name,) in await session.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))}


async def _verify(runtime):  # noqa: ANN001, ANN202
    async with runtime.db.read() as session:
        return await verify(session)


async def test_audit_retention_drops_old_months_and_verify_still_passes(runtime, backend):
    events = await _events(runtime, [4, 3, 1, 0])
    cut = events[1]
    with capture_logs() as logs:
        report = await retention.audit(runtime.db, 2)
    assert report.checkpoint == (cut.id, cut.hash)
    if backend == "postgresql":
        gone = [partition_name("audit_events", month_of(_month(n))) for n in (4, 3)]
        assert report.partitions == gone and report.rows == 0
        assert not set(gone) & await _tables(runtime)
    else:
        assert report.partitions == [] and report.rows == 2
    rows = await _audit_rows(runtime)
    assert [r.subject for r in rows[:2]] == ["m1", "m0"]
    assert rows[2].tag == AuditTag.AUDIT_RETENTION
    assert rows[2].details["checkpoint_seq"] == cut.id and rows[2].details["months"] == 2
    # The cut is logged as an anchor, so the logs keep proving the removed history's end.
    assert {"seq": cut.id, "hash": cut.hash} in [
        {"seq": e["seq"], "hash": e["hash"]} for e in logs if e["event"] == "audit_anchor"]
    report = await _verify(runtime)
    assert report.ok and report.start_seq == cut.id and report.checked == 3
    # The logged anchor of the cut still holds; one older than the cut cannot be checked.
    async with runtime.db.read() as session:
        assert (await verify(session, anchor=Anchor(cut.id, cut.hash))).ok
        older = await verify(session, anchor=Anchor(events[0].id, events[0].hash))
    assert not older.ok and "anterior ao ponto de partida" in older.reason
    # Nothing more to remove: no checkpoint, no event.
    again = await retention.audit(runtime.db, 2)
    assert again.checkpoint is None and len(await _audit_rows(runtime)) == 3


async def test_a_dry_run_removes_nothing(runtime, backend):
    await _events(runtime, [3, 0])
    report = await retention.audit(runtime.db, 2, dry_run=True)
    assert report.checkpoint is not None
    assert report.rows == (0 if backend == "postgresql" else 1)
    assert len(await _audit_rows(runtime)) == 2
    async with runtime.db.read() as session:
        assert (await session.execute(select(AuditCheckpoint))).first() is None


async def test_deleting_a_kept_event_after_retention_is_still_caught(runtime):
    events = await _events(runtime, [3, 1, 0])
    await retention.audit(runtime.db, 2)
    async with runtime.db.transaction() as session:
        await session.execute(delete(AuditEvent).where(AuditEvent.id == events[1].id))
    report = await _verify(runtime)
    assert not report.ok and report.first_broken_id == events[2].id


async def test_a_made_up_checkpoint_is_caught(runtime):
    """Someone deletes the oldest kept events and moves the checkpoint after them: without the
    chain's key the checkpoint's MAC does not hold."""
    events = await _events(runtime, [3, 1, 0])
    await retention.audit(runtime.db, 2)
    async with runtime.db.transaction() as session:
        await session.execute(delete(AuditEvent).where(AuditEvent.id == events[1].id))
        await session.execute(update(AuditCheckpoint).values(seq=events[1].id,
                                                             hash=events[1].hash))
    report = await _verify(runtime)
    assert not report.ok and "adulterado" in report.reason


async def test_retention_refuses_to_leave_a_hole_in_the_chain(runtime):
    """An older event (by ``created_at``) after a newer one, as two servers' clocks may give:
    removing its month would take a middle of the chain."""
    await _months_exist(runtime, [3, 1])
    async with runtime.db.transaction() as session:
        await record(session, "account.login.succeeded", subject="new", at=_month(1))
        await record(session, "account.login.succeeded", subject="old", at=_month(3))
    with pytest.raises(retention.RetentionRefused):
        await retention.audit(runtime.db, 2)
    assert len(await _audit_rows(runtime)) == 2
    assert (await _verify(runtime)).ok


async def test_retention_never_certifies_events_back_dated_to_an_old_month(runtime, backend):
    """A writer with database access moves the events that record an intrusion (this month's)
    back to an old month, so that retention would drop them and a new, valid checkpoint would
    certify what is left. The run checks the chain it removes first: it refuses, removes
    nothing, and ``audit verify`` still points at the altered event."""
    events = await _events(runtime, [4, 3, 0, 0])
    intrusion = events[2]
    async with runtime.db.transaction() as session:
        await session.execute(
            update(AuditEvent).where(AuditEvent.id.in_([events[2].id, events[3].id]))
            .values(created_at=_month(4)))
    with pytest.raises(retention.RetentionRefused) as refused:
        await retention.audit(runtime.db, 2)
    assert str(intrusion.id) in str(refused.value)
    assert len(await _audit_rows(runtime)) == 4
    async with runtime.db.read() as session:
        assert (await session.execute(select(AuditCheckpoint))).first() is None
    report = await _verify(runtime)
    assert not report.ok and report.first_broken_id == intrusion.id


def _message(back: int, status: str) -> OutboxMessage:
    at = _month(back)
    return OutboxMessage(channel="email", to="pessoa@example.com", subject=f"m{back} {status}",
                         text="t", template="t", status=status, next_attempt_at=at, created_at=at)


async def test_outbox_retention_never_drops_a_waiting_message(runtime, backend):
    await _months_exist(runtime, [4, 3, 1])
    async with runtime.db.transaction() as session:
        session.add_all([_message(4, "sent"), _message(4, "pending"), _message(3, "sent"),
                         _message(3, "failed"), _message(1, "sent"), _message(0, "pending")])
    dry = await retention.outbox(runtime.db, 2, dry_run=True)
    report = await retention.outbox(runtime.db, 2)
    async with runtime.db.read() as session:
        left = [m.subject for m in (await session.execute(
            select(OutboxMessage).order_by(OutboxMessage.id))).scalars()]
        events = (await session.execute(
            select(AuditEvent).where(AuditEvent.tag == AuditTag.OUTBOX_RETENTION))).scalars().all()
    assert left == ["m4 pending", "m1 sent", "m0 pending"]
    if backend == "postgresql":
        assert report.partitions == dry.partitions == [partition_name("outbox_messages",
                                                                      month_of(_month(3)))]
        assert report.kept == dry.kept == [partition_name("outbox_messages", month_of(_month(4)))]
        assert report.rows == dry.rows == 1  # the sent message beside the waiting one
    else:
        assert report.rows == dry.rows == 3
    assert len(events) == 1 and events[0].details["rows"] == report.rows
    assert (await _verify(runtime)).ok


async def test_the_worker_runs_retention_and_makes_months_ahead(runtime, backend):
    """``messaging/worker.py`` runs the housekeeping at start (then hourly) with the settings'
    retention."""
    await _events(runtime, [3, 0])
    runtime.settings.audit.retention_months = 2
    stop = asyncio.Event()
    task = asyncio.create_task(maintain_forever(runtime, stop))
    try:
        for _ in range(200):
            async with runtime.db.read() as session:
                if (await session.execute(select(AuditCheckpoint))).first() is not None:
                    break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the worker's housekeeping did not run retention")
    finally:
        stop.set()
        await task
    assert (await _verify(runtime)).ok
    if backend == "postgresql":
        ahead = partition_name("audit_events", add_months(month_of(utcnow()), 2))
        assert ahead in await _tables(runtime)


async def test_cli_retention_then_verify(runtime):
    await _events(runtime, [5, 4, 0])
    env = server_env(runtime.settings.database_url)

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [str(GUARITA), *args], env={**env, **extra}, cwd=ROOT,
            capture_output=True, text=True, timeout=120,
        )

    unset = await asyncio.to_thread(run, "audit", "retention")
    assert unset.returncode == 1 and "GUARITA_AUDIT__RETENTION_MONTHS" in unset.stderr
    dry = await asyncio.to_thread(
        run, "audit", "retention", "--dry-run", "--json", GUARITA_AUDIT__RETENTION_MONTHS="3")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True
    done = await asyncio.to_thread(run, "audit", "retention", GUARITA_AUDIT__RETENTION_MONTHS="3")
    assert done.returncode == 0, done.stderr
    assert "a corrente passa a começar depois do evento 2" in done.stdout
    verified = await asyncio.to_thread(run, "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["start_seq"] == 2
    outbox = await asyncio.to_thread(run, "outbox", "retention", "--months", "3", "--json")
    assert outbox.returncode == 0, outbox.stderr
    assert json.loads(outbox.stdout)["rows"] == 0
