"""Anchors of the audit chain's head in the JSON logs (SECURITY.md › Data).

The keyed chain (``storage/audit.py``) stops a database writer from rewriting history, but not
from deleting its newest rows: what is left is still a valid chain. So the head ``{seq, hash}``
is logged as ``audit_anchor`` every ``GUARITA_AUDIT__ANCHOR_EVERY`` events and at least every
``GUARITA_AUDIT__ANCHOR_SECONDS``; the operator ships the logs elsewhere, and
``guarita audit verify --anchor SEQ:HASH`` proves that the chain still reaches that head.

An anchor is logged only after its transaction commits: an anchor of a rolled-back row would
later look like a deletion.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import AuditSettings

log = structlog.get_logger("guarita.audit")

ANCHOR_EVERY = "audit_anchor_every"  # the session.info entry (set by Database)


def crosses(seq: int, appended: int, every: int) -> bool:
    """Whether rows ``seq - appended + 1 … seq`` include a multiple of ``every``."""
    return every > 0 and seq // every > (seq - appended) // every


def emit(seq: int, digest: str) -> None:
    log.info("audit_anchor", seq=seq, hash=digest)


def after_append(session: AsyncSession, seq: int, digest: str, *, appended: int = 1) -> None:
    """Called by the chain after each append; logs the head once the transaction commits."""
    if not crosses(seq, appended, session.info.get(ANCHOR_EVERY, 0)):
        return
    event.listen(session.sync_session, "after_commit", lambda _s: emit(seq, digest), once=True)


async def head(session: AsyncSession) -> tuple[int, str] | None:
    from guarita.storage.tables import AuditEvent

    row = (
        await session.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def anchor_now(db) -> tuple[int, str] | None:  # noqa: ANN001 - storage.database.Database
    async with db.read() as session:
        found = await head(session)
    if found is not None:
        emit(*found)
    return found


async def anchor_forever(db, policy: AuditSettings, stop: asyncio.Event) -> None:  # noqa: ANN001
    """Logs the head at start and then every ``anchor_seconds`` until ``stop``."""
    while not stop.is_set():
        try:
            await anchor_now(db)
        except Exception:  # noqa: BLE001 - a database hiccup must not end the server
            log.exception("audit_anchor_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=policy.anchor_seconds)
