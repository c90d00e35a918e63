"""Server-side sessions (SECURITY.md › Sessions and cookies; OWASP Session Management).

The token handed to the browser or app is 256 random bits; only its SHA-256 is stored, so a
copy of the database cannot be replayed as a cookie. A session ends at the idle timeout
(30 min), at the absolute timeout (12 h), at sign-out and when the password changes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import SessionPolicy
from guarita.domain.audit_tags import AuditTag
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Session
from guarita.storage.types import utcnow

# Writing last_seen_at on every request would turn every page view into a write; a minute of
# slack on a 30-minute idle timeout is harmless.
TOUCH_EVERY = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    id_hash: str
    account_id: str
    csrf_token: str
    auth_time: datetime
    amr: tuple[str, ...]
    expires_at: datetime
    idle_expires_at: datetime
    reauth_at: datetime | None = None

    @property
    def sid(self) -> str:
        """The OpenID ``sid`` claim: an identifier of the session that reveals nothing."""
        return self.id_hash[:32]


def _info(row: Session, policy: SessionPolicy) -> SessionInfo:
    idle_end = row.last_seen_at + timedelta(minutes=policy.idle_minutes)
    return SessionInfo(
        id_hash=row.id_hash, account_id=row.account_id, csrf_token=row.csrf_token,
        auth_time=row.auth_time, amr=tuple(row.amr or ()),
        expires_at=min(row.expires_at, idle_end), idle_expires_at=idle_end,
        reauth_at=row.reauth_at,
    )


async def create(
    session: AsyncSession, account_id: str, policy: SessionPolicy, context: RequestContext,
    amr: list[str] | None = None, now: datetime | None = None,
) -> tuple[str, SessionInfo]:
    """A new session with a new id (never reuses one: session fixation, OWASP)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    values = dict(
        id_hash=hash_token(token), account_id=account_id, csrf_token=secrets.token_urlsafe(24),
        created_at=now, last_seen_at=now, auth_time=now,
        expires_at=now + timedelta(hours=policy.absolute_hours), amr=amr or ["pwd"],
        ip=context.ip, user_agent=(context.user_agent or "")[:255] or None, reauth_at=None,
        ended_at=None,
    )
    # Core insert: one per sign-in, the ORM unit of work adds nothing here.
    await session.execute(insert(Session), [values])
    return token, _info(Session(**values), policy)


async def load(
    session: AsyncSession, token: str | None, policy: SessionPolicy, now: datetime | None = None
) -> SessionInfo | None:
    """The live session for ``token``, touching its idle clock; None if absent or expired."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    row = await session.get(Session, hash_token(token))
    if row is None or row.ended_at is not None:
        return None
    if row.expires_at <= now or row.last_seen_at + timedelta(minutes=policy.idle_minutes) <= now:
        row.ended_at = now
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return _info(row, policy)


async def end(session: AsyncSession, id_hash: str, now: datetime | None = None) -> None:
    await session.execute(
        update(Session).where(Session.id_hash == id_hash, Session.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )


# Work a caller adds to a sign-out in the same transaction (OpenID logout revokes the grants made
# under the session); returns details for the audit record.
AlsoOnSignOut = Callable[[AsyncSession], Awaitable[dict[str, Any]]]


async def sign_out(
    runtime: Any, current: SessionInfo | None, context: RequestContext, *,
    details: dict[str, Any] | None = None, also: AlsoOnSignOut | None = None,
) -> bool:
    """Ends ``current`` on the server and audits it: the one sign-out of the page, the API and
    OpenID RP-initiated logout (SECURITY.md › Sessions: sign-out ends sessions on the server).
    Returns False when there was nothing to end."""
    if current is None:
        return False
    async with runtime.db.transaction() as session:
        await end(session, current.id_hash)
        extra = await also(session) if also is not None else {}
        found = {**(details or {}), **extra}
        await record(session, AuditTag.LOGOUT, subject=current.account_id, context=context,
                     details=found or None)
    return True


async def end_all(
    session: AsyncSession, account_id: str, *, keep: str | None = None, now: datetime | None = None
) -> int:
    """Ends every live session of the account except ``keep`` (a password change keeps its own)."""
    statement = update(Session).where(Session.account_id == account_id, Session.ended_at.is_(None))
    if keep:
        statement = statement.where(Session.id_hash != keep)
    result = await session.execute(statement.values(ended_at=now or utcnow()))
    return result.rowcount or 0


async def mark_reauthenticated(session: AsyncSession, id_hash: str, now: datetime | None = None) -> None:
    await session.execute(update(Session).where(Session.id_hash == id_hash).values(reauth_at=now or utcnow()))


async def recent(session: AsyncSession, account_id: str, limit: int = 10) -> list[Session]:
    return list(
        (await session.execute(
            select(Session).where(Session.account_id == account_id)
            .order_by(Session.created_at.desc()).limit(limit)
        )).scalars()
    )
