"""Staff sessions (SECURITY.md › Sessions and cookies): a 256-bit cookie value, its SHA-256
stored, a new id at each sign-in, ``GUARITA_SUPPORT__STAFF_IDLE_MINUTES`` idle (15) and
``GUARITA_SUPPORT__STAFF_ABSOLUTE_HOURS`` at most (12); disabling or resetting a staff member ends
their sessions."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.runtime import Runtime
from guarita.services.staff.common import TOUCH_EVERY, sha256, staff_subject
from guarita.storage.audit import RequestContext, record
from guarita.storage.support_tables import StaffAccount, StaffSession
from guarita.storage.types import utcnow


async def create_session(
    session: AsyncSession,
    staff_id: int,
    context: RequestContext,
    now: datetime,
    amr: list[str],
    *,
    absolute_hours: int,
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id_hash=sha256(token),
            staff_id=staff_id,
            csrf_token=secrets.token_urlsafe(24),
            amr=amr,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=absolute_hours),
            ip=context.ip,
            user_agent=(context.user_agent or "")[:255] or None,
        )
    )
    await session.flush()
    return token


async def end_sessions(session: AsyncSession, staff_id: int, now: datetime) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def load_session(runtime: Runtime, token: str | None, *, now: datetime | None = None) -> Actor | None:
    """The staff member of a live console session, touching its idle clock; None otherwise."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    async with runtime.db.transaction() as session:
        row = await session.get(StaffSession, sha256(token))
        if row is None or row.ended_at is not None:
            return None
        idle_end = row.last_seen_at + timedelta(minutes=runtime.settings.support.staff_idle_minutes)
        if row.expires_at <= now or idle_end <= now:
            row.ended_at = now
            return None
        staff = await session.get(StaffAccount, row.staff_id)
        if staff is None or staff.status != "active":
            row.ended_at = now
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        return Actor(
            kind="staff",
            id=staff.id,
            name=staff.name,
            email=staff.email,
            role=staff.role,
            via="console",
            csrf_token=row.csrf_token,
            session_hash=row.id_hash,
        )


async def sign_out(runtime: Runtime, actor: Actor, context: RequestContext) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(
            update(StaffSession)
            .where(StaffSession.id_hash == actor.session_hash, StaffSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        await record(
            session,
            AuditTag.STAFF_LOGOUT,
            subject=staff_subject(actor.id),
            context=context,
            actor=actor.audit_id,
        )
