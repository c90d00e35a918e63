"""The person a desk request is about, and the grant a passing caller check gives to one actor
for one person (docs/support-desk.md › What an agent does, step 3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.actors import Actor
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.storage.support_tables import SupportCallerCheck
from guarita.storage.tables import Account, Beneficiary


async def person_of(session: AsyncSession, beneficiary_id: int) -> tuple[Beneficiary, Account | None]:
    beneficiary = await session.get(Beneficiary, beneficiary_id)
    if beneficiary is None:
        raise GuaritaError(ErrorCode.NOT_FOUND, message=Message.BENEFICIARY_NOT_FOUND)
    account = (
        await session.execute(select(Account).where(Account.beneficiary_id == beneficiary_id))
    ).scalar_one_or_none()
    return beneficiary, account


async def grant_of(
    session: AsyncSession, actor: Actor, beneficiary_id: int, now: datetime
) -> SupportCallerCheck | None:
    """The live passing caller check of this actor for this person, if any."""
    return (
        await session.execute(
            select(SupportCallerCheck)
            .where(
                SupportCallerCheck.actor == actor.audit_id,
                SupportCallerCheck.beneficiary_id == beneficiary_id,
                SupportCallerCheck.passed.is_(True),
                SupportCallerCheck.expires_at > now,
            )
            .order_by(SupportCallerCheck.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def recent_failures(
    session: AsyncSession, actor: Actor, beneficiary_id: int, now: datetime, window_minutes: int
) -> int:
    """Failed caller checks of this actor for this person within the window."""
    since = now - timedelta(minutes=window_minutes)
    return (
        await session.execute(
            select(func.count())
            .select_from(SupportCallerCheck)
            .where(
                SupportCallerCheck.actor == actor.audit_id,
                SupportCallerCheck.beneficiary_id == beneficiary_id,
                SupportCallerCheck.passed.is_(False),
                SupportCallerCheck.created_at > since,
            )
        )
    ).scalar_one()
