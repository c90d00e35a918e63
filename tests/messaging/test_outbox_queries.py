"""Enqueueing, listing and retrying, on both storage backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from guarita.config import Settings
from guarita.messaging.outbox import (
    NotRetryable,
    base_context,
    enqueue,
    list_messages,
    render,
    retry_failed,
)
from guarita.messaging.worker import deliver_due
from guarita.storage.tables import OutboxMessage
from guarita.storage.types import utcnow
from tests.messaging.helpers import enqueue_test_message, load


async def test_enqueue_renders_and_waits_in_the_queue(runtime):
    message_id = await enqueue_test_message(runtime, channel="sms", to="+5511987654321")
    row = await load(runtime, message_id)
    assert (row.status, row.attempts, row.html, row.subject) == ("pending", 0, None, "")
    assert row.template == "test_message" and row.next_attempt_at <= utcnow()


async def test_enqueue_is_part_of_the_callers_transaction(runtime):
    with pytest.raises(RuntimeError):
        async with runtime.db.transaction() as session:
            await enqueue(
                session, channel="email", to="x@example.org", template="test_message",
                context={**base_context(runtime.settings), "name": "X", "code": "1"},
            )
            raise RuntimeError("the change that caused the message failed")
    async with runtime.db.transaction() as session:
        assert await list_messages(session) == []


async def test_list_filters(runtime):
    a = await enqueue_test_message(runtime, to="a@example.org")
    b = await enqueue_test_message(runtime, to="b@example.org")
    async with runtime.db.transaction() as session:
        assert [m.id for m in await list_messages(session)] == [b, a]
        assert [m.id for m in await list_messages(session, to="a@example.org")] == [a]
        assert [m.id for m in await list_messages(session, status="sent")] == []
        assert [m.id for m in await list_messages(session, limit=1)] == [b]


async def test_retry_only_failed_messages(runtime):
    failed = await enqueue_test_message(runtime)
    pending = await enqueue_test_message(runtime)
    async with runtime.db.transaction() as session:
        row = await session.get(OutboxMessage, failed)
        row.status, row.attempts, row.last_error = "failed", 8, "erro"
        row.next_attempt_at = utcnow() - timedelta(days=1)
    async with runtime.db.transaction() as session:
        await retry_failed(session, failed)
    row = await load(runtime, failed)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "erro")
    with pytest.raises(NotRetryable, match="não falhou"):
        async with runtime.db.transaction() as session:
            await retry_failed(session, pending)
    with pytest.raises(NotRetryable, match="não existe"):
        async with runtime.db.transaction() as session:
            await retry_failed(session, 424242)


def test_render_escapes_html_only():
    context = {**base_context(Settings()), "name": "Ana & Zé", "code": "123456"}
    subject, text, html = render("test_message", "email", context)
    assert subject == "Mensagem de teste do Instituto de Previdência Demonstração"
    assert "Ana & Zé" in text, "plain text is not HTML-escaped"
    assert "Ana &amp; Zé" in html and html.lstrip().startswith("<!doctype html>")
    subject, text, html = render("test_message", "sms", context)
    assert (subject, html) == ("", None) and "123456" in text and "\n" not in text


async def test_nothing_due_means_nothing_done(runtime):
    assert await deliver_due(runtime) == 0
