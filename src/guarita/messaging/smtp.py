"""E-mail delivery over SMTP (aiosmtplib), configured by ``GUARITA_SMTP__*``.

The message is RFC 5322 multipart/alternative (RFC 2046 §5.1.4): the plain-text part first and
the HTML part last, so that clients which can show HTML prefer it and every other client — and
every screen reader set to text — still gets the whole message. ``security`` chooses how the
connection is protected: ``none`` (a relay on loopback), ``starttls`` (RFC 3207, port 587; the
upgrade is required, never silently skipped) or ``tls`` (implicit TLS, RFC 8314, port 465).
Certificates are always verified.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import urlsplit

import aiosmtplib

from guarita.config import SmtpSettings
from guarita.messaging.errors import DeliveryError


@dataclass(frozen=True)
class OutgoingEmail:
    """What the worker hands to an e-mail sender; ``message_id`` is stable across retries."""

    message_id: str
    to: str
    subject: str
    text: str
    html: str | None
    date: datetime


def message_id_for(outbox_id: int, created_at: datetime, domain: str) -> str:
    """A Message-ID (RFC 5322 §3.6.4) that every retry of one outbox row repeats.

    Should a retry reach the server after a timeout that hid a success, the receiving side sees
    the same id twice and can drop the duplicate.
    """
    return f"<outbox.{outbox_id}.{created_at:%Y%m%d%H%M%S%f}@{domain}>"


def sender_domain(sender: str, base_url: str) -> str:
    """The domain of the From address, else the host of ``GUARITA_BASE_URL``."""
    address = parseaddr(sender)[1]
    if "@" in address:
        return address.rsplit("@", 1)[1]
    return urlsplit(base_url).hostname or "guarita.localhost"


def build_message(settings: SmtpSettings, email: OutgoingEmail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.date)
    message["Message-ID"] = email.message_id
    # RFC 3834 §5: an automatic message, so auto-responders ("estou de férias") stay quiet.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text, charset="utf-8")
    if email.html:
        message.add_alternative(email.html, subtype="html", charset="utf-8")
    return message


class SmtpSender:
    """Sends one message per connection: the volume is small and a fresh connection never
    inherits a half-broken session from an earlier failure."""

    def __init__(self, settings: SmtpSettings, *, tls_context: ssl.SSLContext | None = None):
        self.settings = settings
        # Tests pass a context that trusts their own certificate; production uses the system's
        # trust store (SSL_CERT_FILE also works for a private authority).
        self.tls_context = tls_context

    async def send(self, email: OutgoingEmail) -> None:
        settings = self.settings
        password = settings.password.get_secret_value() if settings.password else None
        try:
            await aiosmtplib.send(
                build_message(settings, email),
                hostname=settings.host,
                port=settings.port,
                username=settings.user or None,
                password=password if settings.user else None,
                use_tls=settings.security == "tls",
                # False, not None: with "none" we never try an upgrade the relay may botch;
                # with "starttls" aiosmtplib refuses to go on in clear text.
                start_tls=settings.security == "starttls",
                tls_context=self.tls_context,
                timeout=settings.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            permanent = bool(codes) and all(500 <= code < 600 for code in codes)
            raise DeliveryError(
                f"O servidor SMTP recusou o destinatário ({', '.join(map(str, codes))})",
                permanent=permanent,
            ) from exc
        except aiosmtplib.SMTPRecipientRefused as exc:
            raise DeliveryError(
                f"O servidor SMTP recusou o destinatário ({exc.code})",
                permanent=500 <= exc.code < 600,
            ) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"O servidor SMTP recusou o usuário ou a senha ({exc.code})"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"O servidor SMTP respondeu {exc.code}: {' '.join(exc.message.split())[:300]}"
            ) from exc
