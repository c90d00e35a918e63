"""The append-only, hash-chained audit log (docs/architecture.md › Decisions: audit chain; SECURITY.md › Data).

Each row stores ``hash = SHA-256(prev_hash ‖ canonical JSON of the row)``; changing or deleting
any row breaks every hash after it, which ``verify`` finds and names. Appends are serialised
(``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL) so that two
writers never chain onto the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.storage.tables import AuditEvent
from guarita.storage.types import utcnow

GENESIS = "0" * 64
_ADVISORY_LOCK_ID = 0x6775617269746101  # "guarita\x01"


@dataclass(frozen=True)
class RequestContext:
    """Who is acting and from where; passed from the edge to every service that audits."""

    ip: str | None = None
    user_agent: str | None = None
    actor: str | None = None


def _canonical(event: AuditEvent) -> bytes:
    body = {
        "tag": event.tag,
        "actor": event.actor,
        "subject": event.subject,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
        "details": event.details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _chain(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(event)).hexdigest()


async def record(
    session: AsyncSession,
    tag: str,
    *,
    subject: str | None = None,
    context: RequestContext | None = None,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Appends one event inside the caller's transaction."""
    context = context or RequestContext()
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
    prev = (
        await session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    ).scalar_one_or_none() or GENESIS
    values = {
        "tag": str(tag),
        "actor": actor or context.actor,
        "subject": subject,
        "ip": context.ip,
        "user_agent": (context.user_agent or None) and context.user_agent[:255],
        "created_at": at or utcnow(),
        "details": details or {},
        "prev_hash": prev,
    }
    event = AuditEvent(**values)
    event.hash = values["hash"] = _chain(prev, event)
    # A Core insert, not an ORM flush: every sign-in writes one of these (bench/login.py).
    await session.execute(insert(AuditEvent), [values])
    return event


async def record_many(
    session: AsyncSession,
    tag: str,
    subjects: list[str],
    *,
    context: RequestContext | None = None,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Appends one event per subject (same tag and details), chained in order, in one insert.

    For bulk work (the registry import creates thousands of legacy accounts per batch): the lock
    is taken and the chain head read once, and the rows go in as one executemany instead of an
    ORM flush (about five times cheaper per event).
    """
    if not subjects:
        return 0
    context = context or RequestContext()
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
    prev = (
        await session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    ).scalar_one_or_none() or GENESIS
    common = {
        "tag": str(tag),
        "actor": actor or context.actor,
        "ip": context.ip,
        "user_agent": (context.user_agent or None) and context.user_agent[:255],
        "created_at": at or utcnow(),
        "details": details or {},
    }
    rows = []
    for subject in subjects:
        values = {**common, "subject": subject, "prev_hash": prev}
        # A transient event only to hash it exactly as ``record`` and ``verify`` do.
        prev = values["hash"] = _chain(prev, AuditEvent(**values))
        rows.append(values)
    await session.execute(insert(AuditEvent), rows)
    return len(rows)


@dataclass
class ChainReport:
    checked: int
    first_broken_id: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


async def verify(session: AsyncSession, batch: int = 5000) -> ChainReport:
    """Walks the chain in id order; names the first row whose link or hash does not hold."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = (
            await session.execute(
                select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
            )
        ).scalars().all()
        if not rows:
            return ChainReport(checked, None, None)
        for event in rows:
            if event.prev_hash != prev:
                return ChainReport(checked, event.id, "o elo com o evento anterior foi quebrado")
            if _chain(prev, event) != event.hash:
                return ChainReport(checked, event.id, "o conteúdo do evento foi alterado")
            prev = event.hash
            checked += 1
            last_id = event.id
        session.expunge_all()
