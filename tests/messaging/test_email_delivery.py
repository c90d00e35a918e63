"""E-mail through the outbox to a real SMTP server on loopback (aiosmtpd).

docs/messaging.md › Delivery: an enqueued e-mail really arrives; a server that is down or hangs costs one
bounded attempt and a retry with ``last_error``; a message that keeps failing ends ``failed``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from guarita.config import OutboxSettings, SmtpSettings
from guarita.messaging.worker import deliver_due
from guarita.storage.types import utcnow
from tests.messaging.helpers import enqueue_test_message, load, reconfigure
from tests.support.smtp import SilentTcpServer, SmtpTestServer, free_port

SENDER = "Instituto Teste <nao-responda@guarita.test>"


def smtp_settings(port: int, **extra) -> SmtpSettings:  # noqa: ANN003
    values = {"timeout_seconds": 2, **extra}
    return SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, **values)


@pytest.fixture
def smtp():
    with SmtpTestServer() as server:
        yield server


async def test_enqueued_email_arrives_with_headers_and_both_parts(runtime, smtp):
    reconfigure(runtime, smtp=smtp_settings(smtp.port))
    message_id = await enqueue_test_message(runtime, to="maria@example.org", code="482913")

    assert await deliver_due(runtime) == 1

    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ["maria@example.org"]
    assert mail.mail_from == "nao-responda@guarita.test"
    headers = mail.message
    assert headers["From"] == SENDER
    assert headers["To"] == "maria@example.org"
    assert headers["Subject"] == f"Mensagem de teste do {runtime.settings.organisation_name}"
    assert headers["Message-ID"].startswith(f"<outbox.{message_id}.")
    assert headers["Message-ID"].endswith("@guarita.test>")
    assert headers["Auto-Submitted"] == "auto-generated"
    assert abs(parsedate_to_datetime(headers["Date"]) - utcnow()) < timedelta(minutes=1)
    assert headers.get_content_type() == "multipart/alternative"
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert "Olá, Maria." in text and "Código de teste: 482913" in text
    assert "482913" in html and "<p>Olá, Maria.</p>" in html
    assert runtime.settings.support_phone in text and runtime.settings.support_phone in html

    row = await load(runtime, message_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None and row.claimed_until is None
    assert await deliver_due(runtime) == 0, "a sent message is never sent again"
    assert len(smtp.messages) == 1


async def test_smtp_down_schedules_a_retry_then_delivers_once_up(runtime):
    port = free_port()  # nobody listens here yet
    reconfigure(runtime, smtp=smtp_settings(port))
    message_id = await enqueue_test_message(runtime)

    before = utcnow()
    assert await deliver_due(runtime) == 1
    row = await load(runtime, message_id)
    assert row.status == "pending" and row.attempts == 1
    assert "SMTPConnectError" in row.last_error
    # First backoff: 30 s with ±20 % jitter.
    assert before + timedelta(seconds=23) <= row.next_attempt_at <= utcnow() + timedelta(seconds=37)
    assert await deliver_due(runtime) == 0, "not due again before its backoff"

    with SmtpTestServer(port=port) as smtp:
        assert await deliver_due(runtime, now=utcnow() + timedelta(minutes=1)) == 1
        [mail] = smtp.wait_for(1)
    assert mail.message["To"] == "maria@example.org"
    row = await load(runtime, message_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert "SMTPConnectError" in row.last_error, "the last error stays visible after success"


async def test_hanging_smtp_server_costs_one_bounded_attempt(runtime):
    with SilentTcpServer() as silent:
        reconfigure(runtime, smtp=smtp_settings(silent.port, timeout_seconds=0.5))
        message_id = await enqueue_test_message(runtime)
        started = time.monotonic()
        assert await deliver_due(runtime) == 1
        elapsed = time.monotonic() - started
    assert silent.accepted == 1
    assert elapsed < 3, f"the attempt took {elapsed:.1f} s"
    row = await load(runtime, message_id)
    assert row.status == "pending" and row.attempts == 1
    assert "0.5" in row.last_error or "Timeout" in row.last_error

    with SmtpTestServer() as smtp:
        reconfigure(runtime, smtp=smtp_settings(smtp.port))
        assert await deliver_due(runtime, now=utcnow() + timedelta(minutes=1)) == 1
        smtp.wait_for(1)
    assert (await load(runtime, message_id)).status == "sent"


async def test_after_the_last_attempt_the_message_fails_and_stays_visible(runtime):
    reconfigure(
        runtime, smtp=smtp_settings(free_port()),
        outbox=OutboxSettings(max_attempts=3, first_retry_seconds=30, max_retry_seconds=3600),
    )
    message_id = await enqueue_test_message(runtime)
    later = utcnow()
    for attempt in (1, 2, 3):
        assert await deliver_due(runtime, now=later) == 1
        row = await load(runtime, message_id)
        assert row.attempts == attempt
        later += timedelta(hours=2)
    assert row.status == "failed" and "SMTPConnectError" in row.last_error
    assert await deliver_due(runtime, now=later + timedelta(days=1)) == 0


async def test_a_refused_mailbox_fails_at_once(runtime):
    with SmtpTestServer(refuse={"nao-existe@example.org"}) as smtp:
        reconfigure(runtime, smtp=smtp_settings(smtp.port))
        message_id = await enqueue_test_message(runtime, to="nao-existe@example.org")
        assert await deliver_due(runtime) == 1
    row = await load(runtime, message_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "recusou o destinatário (550)" in row.last_error
