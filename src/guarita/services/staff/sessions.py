"""Staff sessions: the session mechanism of ``services/sessions.py`` under the desk's policy
(SECURITY.md › Sessions and cookies): ``GUARITA_SUPPORT__STAFF_IDLE_MINUTES`` idle (15),
``GUARITA_SUPPORT__STAFF_ABSOLUTE_HOURS`` at most (12), the ``guarita_staff`` cookie. Rows live in
the one ``sessions`` table as the staff member's; disabling or resetting a member ends them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import SessionPolicy, Settings
from guarita.domain.accounts import PrincipalKind, StaffStatus
from guarita.domain.actors import Actor
from guarita.runtime import Runtime
from guarita.services import sessions
from guarita.storage.audit import RequestContext
from guarita.storage.support_tables import StaffAccount
from guarita.storage.types import utcnow

COOKIE = "guarita_staff"


def policy(settings: Settings, *, absolute_hours: int | None = None) -> SessionPolicy:
    support = settings.support
    return SessionPolicy(idle_minutes=support.staff_idle_minutes,
                         absolute_hours=absolute_hours or support.staff_absolute_hours,
                         cookie=COOKIE)


async def create_session(
    session: AsyncSession,
    staff_id: int,
    context: RequestContext,
    now: datetime,
    amr: list[str],
    *,
    absolute_hours: int,
) -> str:
    # Only the absolute lifetime is fixed at creation; the idle one is checked at each load.
    desk = SessionPolicy(absolute_hours=absolute_hours, cookie=COOKIE)
    token, _ = await sessions.create(session, staff_id, desk, context, amr=amr, now=now,
                                     kind=PrincipalKind.STAFF)
    return token


async def end_sessions(session: AsyncSession, staff_id: int, now: datetime) -> None:
    await sessions.end_all(session, staff_id, now=now, kind=PrincipalKind.STAFF)


async def load_session(
    runtime: Runtime, token: str | None, *, now: datetime | None = None
) -> Actor | None:
    """The staff member of a live console session, touching its idle clock; None otherwise."""
    now = now or utcnow()
    async with runtime.db.transaction() as session:
        info = await sessions.load(session, token, policy(runtime.settings), now,
                                   kind=PrincipalKind.STAFF)
        if info is None:
            return None
        staff = await session.get(StaffAccount, info.staff_id)
        if staff is None or staff.status != StaffStatus.ACTIVE:
            await sessions.end(session, info.id_hash, now)
            return None
        return Actor(
            kind="staff",
            id=staff.id,
            name=staff.name,
            email=staff.email,
            role=staff.role,
            via="console",
            csrf_token=info.csrf_token,
            session_hash=info.id_hash,
        )


async def sign_out(runtime: Runtime, actor: Actor, context: RequestContext) -> None:
    await sessions.sign_out_session(runtime, actor.session_hash, PrincipalKind.STAFF, actor.id,
                                    context, actor=actor.audit_id)
