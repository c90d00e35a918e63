"""Small helpers shared by the messaging tests."""

from __future__ import annotations

from typing import Any

from guarita.messaging.outbox import base_context, enqueue
from guarita.runtime import Runtime
from guarita.storage.tables import OutboxMessage


def reconfigure(runtime: Runtime, **changes: Any) -> None:
    """Points the runtime at this test's servers (the worker reads ``runtime.settings`` on
    every pass, as a restarted process would)."""
    runtime.settings = runtime.settings.model_copy(update=changes)


async def enqueue_test_message(
    runtime: Runtime, *, channel: str = "email", to: str = "maria@example.org",
    code: str = "482913", name: str = "Maria",
) -> int:
    async with runtime.db.transaction() as session:
        message = await enqueue(
            session, channel=channel, to=to, template="test_message",
            context={**base_context(runtime.settings), "name": name, "code": code},
        )
        return message.id


async def load(runtime: Runtime, message_id: int) -> OutboxMessage:
    async with runtime.db.transaction() as session:
        message = await session.get(OutboxMessage, message_id)
        assert message is not None
        return message
