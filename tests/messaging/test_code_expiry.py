"""A message that carries a one-time code is dropped, not sent, once the code has expired."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from guarita.messaging.outbox import enqueue
from guarita.messaging.worker import deliver_due
from guarita.storage.tables import OutboxMessage
from guarita.storage.types import utcnow


async def test_expired_code_message_is_discarded(runtime):
    runtime.settings.sms.adapter = "log"
    async with runtime.db.transaction() as session:
        await enqueue(session, channel="sms", to="+5561991234567", template="recovery_code",
                      context={"organisation": "X", "support_phone": "0800", "code": "123456",
                               "minutes": 10, "continue_url": "http://t/x", "base_url": "http://t"},
                      discard_after=utcnow() + timedelta(minutes=10))
    with time_machine.travel(utcnow() + timedelta(minutes=11)):
        await deliver_due(runtime)
    async with runtime.db.transaction() as session:
        message = (await session.execute(select(OutboxMessage))).scalar_one()
    assert message.status == "failed" and message.sent_at is None
    assert "venceu" in message.last_error
