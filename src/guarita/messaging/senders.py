"""The senders the worker uses, built from the settings in one place (the composition of
``messaging``: ``app.py`` and ``guarita worker`` never need to know the providers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from guarita.config import Settings
from guarita.domain.accounts import Channel
from guarita.messaging.sms import SmsSender, build_sms_sender
from guarita.messaging.smtp import OutgoingEmail, SmtpSender


class EmailSender(Protocol):
    async def send(self, email: OutgoingEmail) -> None: ...


@dataclass(frozen=True)
class Senders:
    email: EmailSender
    sms: SmsSender
    email_timeout: float
    sms_timeout: float

    def timeout_for(self, channel: str) -> float:
        return self.email_timeout if channel == Channel.EMAIL else self.sms_timeout


def build_senders(settings: Settings) -> Senders:
    return Senders(
        email=SmtpSender(settings.smtp),
        sms=build_sms_sender(settings.sms),
        email_timeout=settings.smtp.timeout_seconds,
        sms_timeout=settings.sms.timeout_seconds,
    )
