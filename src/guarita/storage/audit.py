"""The append-only, keyed hash chain of the audit log (docs/architecture.md › Decisions: audit
chain; SECURITY.md › Data).

Each row stores ``hash = HMAC-SHA-256(key, prev_hash ‖ canonical JSON of the row)``; changing
or deleting any row breaks every hash after it, which ``verify`` finds and names. The key
(``GUARITA_AUDIT__KEY``, derived from the secret key by default) is never in the database, so a
database writer cannot recompute the chain after an edit, as a plain SHA-256 chain allows.
Deleting the newest rows leaves a shorter chain that still holds; the head is therefore
anchored in the logs (``storage/audit_anchor.py``) and ``verify(anchor=…)`` checks against it.

Retention (``storage/retention.py``) removes the oldest months and leaves an
``audit_checkpoints`` row with the last removed event's ``{seq, hash}``, MACed with the same key;
``verify`` starts from the newest checkpoint instead of the genesis (docs/scale.md ›
Partitioning the audit and outbox tables by month).

Appends are serialised (``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on
PostgreSQL) so that two writers never chain onto the same predecessor. The key travels with
the session (``Database(audit_key=…)`` puts it in ``session.info``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.storage import audit_anchor as anchors
from guarita.storage.plain_sql import Sql, Tx
from guarita.storage.tables import AuditCheckpoint, AuditEvent
from guarita.storage.types import utcnow

GENESIS = "0" * 64
AUDIT_KEY = "audit_key"  # the session.info entry that carries the chain's key
CHAIN_LOCK_ID = 0x6775617269746101  # "guarita\x01": the advisory lock appends take


@dataclass(frozen=True)
class RequestContext:
    """Who is acting and from where; passed from the edge to every service that audits."""

    ip: str | None = None
    user_agent: str | None = None
    actor: str | None = None


def _canonical(event: AuditEvent) -> bytes:
    return _canonical_values(event.tag, event.actor, event.subject, event.ip, event.user_agent,
                             event.created_at, event.details)


def _canonical_values(tag: str, actor: str | None, subject: str | None, ip: str | None,
                      user_agent: str | None, created_at: datetime, details: Any) -> bytes:
    body = {
        "tag": tag,
        "actor": actor,
        "subject": subject,
        "ip": ip,
        "user_agent": user_agent,
        "created_at": created_at.isoformat(timespec="microseconds"),
        "details": details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _chain(key: bytes, prev_hash: str, event: AuditEvent) -> str:
    return hmac.new(key, prev_hash.encode() + _canonical(event), hashlib.sha256).hexdigest()


_PG_LOCK = Sql("SELECT pg_advisory_xact_lock(:id)")
_HEAD = Sql("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
_INSERT = Sql("""
    INSERT INTO audit_events (tag, actor, subject, ip, user_agent, created_at, details,
                              prev_hash, hash)
    VALUES (:tag, :actor, :subject, :ip, :user_agent, :created_at, :details, :prev_hash, :hash)
    RETURNING id
""")


@dataclass(frozen=True)
class Appended:
    """An event appended by :func:`append_in`; ``anchor`` logs the head once committed."""

    id: int
    hash: str

    def anchor(self, every: int) -> None:
        if anchors.crosses(self.id, 1, every):
            anchors.emit(self.id, self.hash)


async def append_in(
    tx: Tx, key: bytes, *, postgres: bool, tag: str, subject: str | None = None,
    context: RequestContext | None = None, details: dict[str, Any] | None = None,
    locked: bool = False,
) -> Appended:
    """Appends one event inside a plain-SQL transaction body (``storage/plain_sql.py``): the
    same lock, chain head, HMAC and row as :func:`record`. The caller calls ``anchor`` on the
    result after the commit (an anchor of a rolled-back row would look like a deletion).
    ``locked``: the body already took ``CHAIN_LOCK_ID`` in an earlier statement of the same
    transaction — earlier, so that reading the head here sees every append committed before."""
    if not key:
        raise AuditKeyMissing("a sessão não tem a chave do registro de auditoria")
    context = context or RequestContext()
    if postgres and not locked:
        await tx.run(_PG_LOCK, id=CHAIN_LOCK_ID)
    head = await tx.one(_HEAD)
    prev = head[0] if head else GENESIS
    user_agent = (context.user_agent or None) and context.user_agent[:255]
    created_at = utcnow()
    details = details or {}
    digest = hmac.new(key, prev.encode() + _canonical_values(
        str(tag), context.actor, subject, context.ip, user_agent, created_at, details),
        hashlib.sha256).hexdigest()
    row = await tx.one(_INSERT, tag=str(tag), actor=context.actor, subject=subject,
                       ip=context.ip, user_agent=user_agent, created_at=created_at,
                       details=json.dumps(details), prev_hash=prev, hash=digest)
    return Appended(row[0], digest)


class AuditKeyMissing(RuntimeError):
    """A session without the chain key: appending or verifying would be meaningless."""


def _key(session: AsyncSession) -> bytes:
    key = session.info.get(AUDIT_KEY)
    if not key:
        raise AuditKeyMissing("a sessão não tem a chave do registro de auditoria")
    return key


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
    event = await _append(session, tag, subject, context, actor, details, at)
    anchors.after_append(session, event.id, event.hash)
    return event


async def record_or_sink(
    session: AsyncSession,
    tag: str,
    *,
    sink: bool,
    subject: str | None = None,
    context: RequestContext | None = None,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Appends one event as :func:`record` does, inside a savepoint that is released — or,
    with ``sink``, rolled back, so that nothing is appended and nothing anchored.

    For the flows whose answers must not say whether they named someone (SECURITY.md ›
    Account enumeration: same timing): an unknown identifier, a contact the account does not
    have, mismatching data. Both ways run the same statements — the lock, the chain head, the
    HMAC, the insert, the savepoint — so their timings differ by noise only. On PostgreSQL a
    sink leaves a gap in the id sequence, as any rolled-back transaction does; the chain links
    rows by hash, not by id.
    """
    savepoint = await session.begin_nested()
    try:
        event = await _append(session, tag, subject, context, actor, details, None)
    except BaseException:
        await savepoint.rollback()
        raise
    if sink:
        await savepoint.rollback()
        return
    await savepoint.commit()
    anchors.after_append(session, event.id, event.hash)


async def _append(
    session: AsyncSession, tag: str, subject: str | None, context: RequestContext | None,
    actor: str | None, details: dict[str, Any] | None, at: datetime | None,
) -> AuditEvent:
    context = context or RequestContext()
    key = _key(session)
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CHAIN_LOCK_ID})
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
    event.hash = values["hash"] = _chain(key, prev, event)
    # A Core insert, not an ORM flush: every sign-in writes one of these (bench/login.py).
    event.id = (
        await session.execute(insert(AuditEvent).returning(AuditEvent.id), values)
    ).scalar_one()
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
    key = _key(session)
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CHAIN_LOCK_ID})
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
        prev = values["hash"] = _chain(key, prev, AuditEvent(**values))
        rows.append(values)
    await session.execute(insert(AuditEvent), rows)
    last = (
        await session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    ).scalar_one()
    anchors.after_append(session, last, prev, appended=len(rows))
    return len(rows)


async def lock_chain(session: AsyncSession) -> None:
    """Takes the lock appends take (PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already holds the
    database), for a transaction that must take it *before* a table lock of its own: appenders
    hold it while they write other tables, so the other order could deadlock with them."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CHAIN_LOCK_ID})


def checkpoint_mac(key: bytes, seq: int, digest: str, through: datetime) -> str:
    """Binds a checkpoint's fields to the chain's key: without it, no one makes one up."""
    body = f"checkpoint|{seq}|{digest}|{through.isoformat(timespec='microseconds')}"
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


async def newest_checkpoint(session: AsyncSession) -> AuditCheckpoint | None:
    return (
        await session.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
        )
    ).scalar_one_or_none()


@dataclass
class ChainReport:
    checked: int
    first_broken_id: int | None
    reason: str | None
    anchor_checked: bool = False
    # The seq of the retention checkpoint the walk started after; None: from the genesis.
    start_seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


@dataclass(frozen=True)
class Anchor:
    """A ``{seq, hash}`` the logs recorded: the chain must still reach it, unchanged."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """``SEQ:HASH`` as ``guarita audit verify --anchor`` takes it."""
        seq, sep, digest = text.strip().partition(":")
        if not sep or not seq.isdigit() or len(digest) != 64:
            raise ValueError("use SEQ:HASH, como no registro 'audit_anchor' dos logs")
        return cls(int(seq), digest.lower())


async def verify(
    session: AsyncSession, batch: int = 5000, anchor: Anchor | None = None,
    until: int | None = None,
) -> ChainReport:
    """Walks the chain in id order; names the first row whose link or hash does not hold.

    With an ``anchor``, the row of that sequence number must exist and carry that hash: a chain
    cut short (its newest rows deleted) or rebuilt is caught there.

    After retention the walk starts at the newest checkpoint: the first kept event must link to
    its hash. An anchor older than the checkpoint can no longer be checked, and says so.
    ``until`` stops the walk after that event (retention checks what it is about to remove).
    """
    key = _key(session)
    checkpoint = await newest_checkpoint(session)
    if checkpoint is not None:
        expected_mac = checkpoint_mac(key, checkpoint.seq, checkpoint.hash, checkpoint.through)
        if not hmac.compare_digest(expected_mac, checkpoint.mac):
            return ChainReport(0, checkpoint.seq, "o ponto de partida da retenção foi adulterado",
                               start_seq=checkpoint.seq)
        if anchor is not None and anchor.seq < checkpoint.seq:
            return ChainReport(
                0, anchor.seq,
                f"a âncora {anchor.seq} é anterior ao ponto de partida da retenção "
                f"(evento {checkpoint.seq}); use uma âncora mais recente",
                start_seq=checkpoint.seq,
            )
        if anchor is not None and anchor.seq == checkpoint.seq and anchor.hash != checkpoint.hash:
            return ChainReport(0, anchor.seq, "o evento não confere com a âncora",
                               start_seq=checkpoint.seq)
    report = await _walk(session, key, batch, anchor, checkpoint, until)
    if not report.ok or anchor is None:
        return report
    if not report.anchor_checked:
        return ChainReport(
            report.checked, anchor.seq,
            f"o evento {anchor.seq} da âncora não existe mais (eventos recentes foram apagados)",
            start_seq=report.start_seq,
        )
    return report


async def _walk(
    session: AsyncSession, key: bytes, batch: int, anchor: Anchor | None,
    checkpoint: AuditCheckpoint | None, until: int | None = None,
) -> ChainReport:
    start = checkpoint.seq if checkpoint is not None else None
    # The checkpoint is the removed head: an anchor on it holds if the hashes agree.
    anchor_checked = (anchor is not None and checkpoint is not None
                      and anchor.seq == checkpoint.seq and anchor.hash == checkpoint.hash)
    prev = checkpoint.hash if checkpoint is not None else GENESIS
    checked = 0
    last_id = start or 0
    while True:
        page = select(AuditEvent).where(AuditEvent.id > last_id)
        if until is not None:
            page = page.where(AuditEvent.id <= until)
        rows = (await session.execute(page.order_by(AuditEvent.id).limit(batch))).scalars().all()
        if not rows:
            return ChainReport(checked, None, None, anchor_checked, start)
        for event in rows:
            if event.prev_hash != prev:
                return ChainReport(checked, event.id, "o elo com o evento anterior foi quebrado",
                                   start_seq=start)
            if not hmac.compare_digest(_chain(key, prev, event), event.hash):
                return ChainReport(checked, event.id, "o conteúdo do evento foi alterado",
                                   start_seq=start)
            if anchor is not None and event.id == anchor.seq:
                if event.hash != anchor.hash:
                    return ChainReport(checked, event.id, "o evento não confere com a âncora",
                                       start_seq=start)
                anchor_checked = True
            prev = event.hash
            checked += 1
            last_id = event.id
        session.expunge_all()
