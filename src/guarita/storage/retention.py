"""Retention of the audit log and the outbox: ``GUARITA_AUDIT__RETENTION_MONTHS`` and
``GUARITA_OUTBOX__RETENTION_MONTHS`` (docs/scale.md › Partitioning the audit and outbox tables by
month). Unset, everything is kept.

``months`` counts whole months before the current one: with 12 on any day of December 2026,
everything created before 2025-12-01 goes. On PostgreSQL a month goes by dropping its partition
(``storage/partitions.py``) — no row-by-row delete, no bloat — and what the default partition
holds of it by a ``DELETE``; on SQLite by a ``DELETE``.

The audit log loses its oldest events, so the chain would start at an event whose ``prev_hash``
names one that no longer exists. Before removing them, the last removed event's ``{seq, hash}``
becomes an ``audit_checkpoints`` row (MACed with the chain's key) and is logged as an anchor,
once the removed part has been verified as a chain (links and MACs, from the last checkpoint) —
a run never certifies events it has not checked;
``guarita audit verify`` starts from it (``storage/audit.py``). Removed is always a prefix of
the chain: if a kept event (by ``created_at``) has a smaller ``id`` than a removed one — clocks
of two servers disagreeing across midnight of the first — the run refuses rather than leave a
chain with a hole. The outbox drops a month only when none of its messages is waiting to be sent
(``pending``, ``sending``); elsewhere only ``sent`` and ``failed`` messages are deleted.

Every run that removes something appends an audit event (``system.audit.retention``,
``system.outbox.retention``) in the same transaction. Runs are serialised with partition
maintenance by one advisory lock, so several workers may run them at once. The next months'
partitions are made first, in a transaction of their own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.audit_tags import AuditTag
from guarita.storage import audit as chain
from guarita.storage import audit_anchor as anchors
from guarita.storage import partitions
from guarita.storage.audit import AUDIT_KEY, RequestContext, checkpoint_mac, record
from guarita.storage.database import Database
from guarita.storage.tables import AuditCheckpoint, AuditEvent, OutboxMessage
from guarita.storage.types import utcnow

log = structlog.get_logger("guarita.retention")

SYSTEM = RequestContext(actor="system:retention")
_FINISHED = ("sent", "failed")  # outbox statuses that will never be sent again by themselves


class RetentionRefused(RuntimeError):
    """Removing the months asked would leave a hole in the audit chain."""


@dataclass
class Retention:
    """What a run removed — or, with ``dry_run``, would remove."""

    table: str
    months: int
    through: datetime  # rows created before this instant
    dry_run: bool
    partitions: list[str] = field(default_factory=list)  # month partitions dropped
    kept: list[str] = field(default_factory=list)  # outbox months kept: messages still waiting
    rows: int = 0  # rows deleted one by one (SQLite; the default partition on PostgreSQL)
    checkpoint: tuple[int, str] | None = None  # the audit chain's new start {seq, hash}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "through": self.through.isoformat()}


def cutoff(now: datetime, months: int) -> datetime:
    return partitions.add_months(partitions.month_of(now), -months)


async def _old_months(session: AsyncSession, table: str, through: datetime) -> list[str]:
    return [name for month, name in (await partitions.months(session, table)).items()
            if partitions.add_months(month, 1) <= through]


async def _count_partitions(
    session: AsyncSession, names: list[str], through: datetime, extra: str = ""
) -> int:
    total = 0
    for name in names:
        total += (await session.execute(
            text(f"SELECT count(*) FROM {name} WHERE created_at < :through {extra}"),  # noqa: S608 - table names are constants or catalog names matched by months()
            {"through": through},
        )).scalar_one()
    return total


async def audit(
    db: Database, months: int, *, now: datetime | None = None, dry_run: bool = False,
    context: RequestContext | None = None,
) -> Retention:
    """Removes the audit events of the months before the last ``months`` and the current one,
    leaving a checkpoint where the chain now starts."""
    report = await _begin(db, "audit_events", months, now, dry_run)
    through = report.through
    async with db.transaction() as session:
        await _lock(session)
        cut = (await session.execute(
            select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.created_at < through)
            .order_by(AuditEvent.id.desc()).limit(1)
        )).first()
        if cut is None:
            return report
        first_kept = (await session.execute(
            select(func.min(AuditEvent.id)).where(AuditEvent.created_at >= through)
        )).scalar()
        if first_kept is not None and first_kept < cut.id:
            raise RetentionRefused(
                f"o evento {first_kept}, mantido, é anterior ao evento {cut.id}, que sairia: "
                "remover só os meses antigos deixaria um buraco na corrente"
            )
        # What goes must be a sound chain up to the cut, checked from the last checkpoint (or
        # the genesis): otherwise a writer who back-dated events to an old month would have
        # them dropped here and a new, valid checkpoint would certify what is left.
        sound = await chain.verify(session, until=cut.id)
        if not sound.ok:
            log.error("audit_retention_refused", event_id=sound.first_broken_id,
                      reason=sound.reason)
            raise RetentionRefused(
                f"a corrente não confere no evento {sound.first_broken_id} ({sound.reason}): "
                "nada foi removido; rode guarita audit verify e investigue antes da retenção"
            )
        report.checkpoint = (cut.id, cut.hash)
        partitioned = await partitions.is_partitioned(session)
        if partitioned:
            report.partitions = await _old_months(session, "audit_events", through)
        if dry_run:
            report.rows = await _rows_left(session, partitioned, through, "audit_events")
            return report
        key = session.info[AUDIT_KEY]
        session.add(AuditCheckpoint(seq=cut.id, hash=cut.hash, through=through,
                                    mac=checkpoint_mac(key, cut.id, cut.hash, through)))
        # Appended before the DDL: the append's advisory lock keeps other appenders waiting on
        # it, not on the table lock the DROP takes (which they would hold against us).
        await record(session, AuditTag.AUDIT_RETENTION, context=context or SYSTEM,
                     details=_details(report))
        for name in report.partitions:
            await session.execute(text(f"DROP TABLE {name}"))
        # By id, not by date: exactly the prefix that was verified and checkpointed.
        report.rows = (await session.execute(
            delete(AuditEvent).where(AuditEvent.id <= cut.id)
            .execution_options(synchronize_session=False)
        )).rowcount
    anchors.emit(*report.checkpoint)
    log.info("audit_retention", **_details(report))
    return report


async def outbox(
    db: Database, months: int, *, now: datetime | None = None, dry_run: bool = False,
    context: RequestContext | None = None,
) -> Retention:
    """Removes the sent and failed messages of the months before the last ``months`` and the
    current one; a month with a message still waiting stays whole."""
    report = await _begin(db, "outbox_messages", months, now, dry_run)
    through = report.through
    async with db.transaction() as session:
        await _lock(session)
        partitioned = await partitions.is_partitioned(session)
        if partitioned:
            for name in await _old_months(session, "outbox_messages", through):
                if not dry_run:
                    # Holds off a concurrent ``guarita outbox retry`` until the drop.
                    await session.execute(text(f"LOCK TABLE {name} IN SHARE MODE"))
                waiting = (await session.execute(text(
                    f"SELECT EXISTS (SELECT 1 FROM {name} WHERE status NOT IN ('sent', 'failed'))"  # noqa: S608 - table names are constants or catalog names matched by months()
                ))).scalar()
                (report.kept if waiting else report.partitions).append(name)
        old = (OutboxMessage.created_at < through) & OutboxMessage.status.in_(_FINISHED)
        if dry_run:
            report.rows = await _rows_left(session, partitioned, through, "outbox_messages",
                                           report.kept)
            return report
        # The chain's lock before the DROP's table lock, the order appenders take them in (they
        # append, then write the outbox): the other order could deadlock with a request.
        await chain.lock_chain(session)
        for name in report.partitions:
            await session.execute(text(f"DROP TABLE {name}"))
        report.rows = (await session.execute(
            delete(OutboxMessage).where(old).execution_options(synchronize_session=False)
        )).rowcount
        if report.partitions or report.rows:
            await record(session, AuditTag.OUTBOX_RETENTION, context=context or SYSTEM,
                         details=_details(report))
    if report.partitions or report.rows:
        log.info("outbox_retention", **_details(report))
    return report


async def _begin(
    db: Database, table: str, months: int, now: datetime | None, dry_run: bool
) -> Retention:
    now = now or utcnow()
    await _ensure_months(db, now)
    return Retention(table, months, cutoff(now, months), dry_run)


async def _ensure_months(db: Database, now: datetime) -> list[str]:
    """In a transaction of its own: the DDL's lock on the parent table must not be held while
    the run waits for the chain's advisory lock, which appenders hold while they wait for it."""
    async with db.transaction() as session:
        created = await partitions.ensure_months(session, now)
    if created:
        log.info("partitions_created", names=created)
    return created


async def _lock(session: AsyncSession) -> None:
    """SQLite needs no lock: its transactions start with ``BEGIN IMMEDIATE``
    (storage/database.py), which already serialises writers."""
    if session.bind.dialect.name == "postgresql":
        await partitions.lock(session)


async def _rows_left(
    session: AsyncSession, partitioned: bool, through: datetime, table: str,
    kept: list[str] | None = None,
) -> int:
    """How many rows a run would delete one by one (a dry run): on PostgreSQL only those outside
    the partitions it drops, which a count would have to read whole."""
    outbox = table == "outbox_messages"
    if partitioned:
        finished = "AND status IN ('sent', 'failed')" if outbox else ""
        return await _count_partitions(
            session, [partitions.default_name(table), *(kept or [])], through, finished
        )
    model = OutboxMessage if outbox else AuditEvent
    query = select(func.count()).select_from(model).where(model.created_at < through)
    if outbox:
        query = query.where(OutboxMessage.status.in_(_FINISHED))
    return (await session.execute(query)).scalar_one()


def _details(report: Retention) -> dict[str, Any]:
    details = {"months": report.months, "through": report.through.isoformat(),
               "partitions": report.partitions, "rows": report.rows}
    if report.kept:
        details["kept"] = report.kept
    if report.checkpoint:
        details["checkpoint_seq"] = report.checkpoint[0]
    return details


async def maintain(
    db: Database, *, audit_months: int | None, outbox_months: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The hourly job of the worker (``messaging/worker.py``): next months' partitions, then
    retention where it is configured."""
    now = now or utcnow()
    done: dict[str, Any] = {"created": await _ensure_months(db, now)}
    if audit_months:
        done["audit"] = (await audit(db, audit_months, now=now)).as_dict()
    if outbox_months:
        done["outbox"] = (await outbox(db, outbox_months, now=now)).as_dict()
    return done
