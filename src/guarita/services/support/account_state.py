"""The one state the desk reads first about an account (docs/support-desk.md › the person view):
no account, disabled, password disabled, locked, legacy or active."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.accounts import AccountStatus
from guarita.services import throttling
from guarita.storage.tables import Account, Throttle
from guarita.storage.types import utcnow


def lock_key(account_id: str) -> str:
    """The sign-in throttle row of an account (``services/throttling.py``)."""
    return throttling.sign_in_key(account_id)


async def locks_of(session: AsyncSession, account_ids: list[str], now: datetime) -> dict[str, Throttle]:
    if not account_ids:
        return {}
    keys = {lock_key(a): a for a in account_ids}
    rows = (await session.execute(select(Throttle).where(Throttle.key.in_(list(keys))))).scalars()
    return {keys[row.key]: row for row in rows}


def state_of(account: Account | None, lock: Throttle | None) -> tuple[str, datetime | None]:
    """The state and, while a lock lasts, its end."""
    if account is None:
        return "no_account", None
    locked_until = lock.locked_until if lock is not None and lock.locked_until else None
    if locked_until is not None and locked_until <= utcnow():
        locked_until = None
    if account.status == AccountStatus.DISABLED:
        return "disabled", locked_until
    if account.password_disabled_at is not None:
        return "password_disabled", locked_until
    if locked_until is not None:
        return "locked", locked_until
    if account.legacy:
        return "legacy", None
    return "active", None
