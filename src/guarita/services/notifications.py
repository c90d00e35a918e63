"""Messages to a person's own contacts, through the outbox (house style 8)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import Settings
from guarita.messaging.outbox import base_context, enqueue
from guarita.storage import accounts as accounts_repo


def message_context(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {**base_context(settings), **extra}


async def notify_contacts(
    session: AsyncSession, settings: Settings, account_id: str, template: str,
    *, channels: tuple[str, ...] = ("email", "sms"), **extra: Any,
) -> int:
    """Queues ``template`` to every verified e-mail and phone of the account."""
    sent = 0
    for identifier in await accounts_repo.identifiers_of(session, account_id):
        if identifier.verified_at is None:
            continue
        channel = {"email": "email", "phone": "sms"}.get(identifier.kind)
        if channel is None or channel not in channels:
            continue
        await enqueue(
            session, channel=channel, to=identifier.value, template=template,
            context=message_context(settings, **extra), account_id=account_id,
        )
        sent += 1
    return sent
