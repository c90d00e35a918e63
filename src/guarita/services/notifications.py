"""Messages to a person's own contacts, through the outbox (house style 8)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import Settings
from guarita.domain.flows import FlowKind
from guarita.messaging.outbox import base_context, enqueue
from guarita.services import flows
from guarita.storage import accounts as accounts_repo
from guarita.storage.tables import Flow


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


async def create_lock_link(session, runtime, account_id: str, now: datetime) -> str:  # noqa: ANN001
    """A single-use "Não foi você?" token that locks the account (SECURITY.md › Recovery)."""
    token, id_hash = flows.new_token()
    session.add(Flow(
        id_hash=id_hash, kind=FlowKind.LOCK_LINK, state="open", account_id=account_id,
        created_at=now, expires_at=now + timedelta(days=runtime.settings.recovery.lock_link_days),
    ))
    await session.flush()
    return token


def lock_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/nao-fui-eu?token={token}"
