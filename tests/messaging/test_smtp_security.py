"""The SMTP sender's ``security`` modes against aiosmtpd with a certificate made by the test.

No database: this checks the sender itself (STARTTLS required and AUTH, implicit TLS, and that
an untrusted certificate is refused rather than ignored).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guarita.config import SmtpSettings
from guarita.messaging.errors import DeliveryError
from guarita.messaging.smtp import OutgoingEmail, SmtpSender
from tests.support.smtp import SmtpTestServer, self_signed

EMAIL = OutgoingEmail(
    message_id="<outbox.1.test@guarita.test>", to="jose@example.org", subject="Teste",
    text="Texto simples.", html="<p>Texto <strong>HTML</strong>.</p>",
    date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def certificate():
    return self_signed()


async def test_starttls_with_login(certificate):
    with SmtpTestServer(starttls=certificate.server, credentials=("guarita", "s3nha")) as smtp:
        settings = SmtpSettings(
            host="127.0.0.1", port=smtp.port, security="starttls", user="guarita",
            password="s3nha", timeout_seconds=3,  # noqa: S106
        )
        await SmtpSender(settings, tls_context=certificate.client).send(EMAIL)
        [mail] = smtp.wait_for(1)
    assert mail.authenticated_as == "guarita"
    assert mail.message["Message-ID"] == "<outbox.1.test@guarita.test>"
    assert mail.part("text/plain").strip() == "Texto simples."


async def test_wrong_password_is_reported_without_the_password(certificate):
    with SmtpTestServer(starttls=certificate.server, credentials=("guarita", "s3nha")) as smtp:
        settings = SmtpSettings(
            host="127.0.0.1", port=smtp.port, security="starttls", user="guarita",
            password="errada", timeout_seconds=3,  # noqa: S106
        )
        with pytest.raises(DeliveryError) as caught:
            await SmtpSender(settings, tls_context=certificate.client).send(EMAIL)
    assert "usuário ou a senha" in str(caught.value) and "errada" not in str(caught.value)
    assert not caught.value.permanent


async def test_implicit_tls(certificate):
    with SmtpTestServer(implicit_tls=certificate.server) as smtp:
        settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="tls", timeout_seconds=3)
        await SmtpSender(settings, tls_context=certificate.client).send(EMAIL)
        smtp.wait_for(1)


async def test_an_untrusted_certificate_is_refused(certificate):
    with SmtpTestServer(starttls=certificate.server) as smtp:
        settings = SmtpSettings(
            host="127.0.0.1", port=smtp.port, security="starttls", timeout_seconds=3
        )
        with pytest.raises(Exception, match="(?i)certificate"):
            await SmtpSender(settings).send(EMAIL)  # the system trust store does not know it
    assert smtp.messages == []
