"""The senders the worker uses, built from the settings in one place (the composition of
``messaging``: ``app.py`` and ``guarita worker`` never need to know the providers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from guarita.config import Settings
from guarita.domain.accounts import Channel
from guarita.messaging.backchannel import BackchannelSender, LogoutTokenMinter
from guarita.messaging.outbox import LOGOUT
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
    logout: BackchannelSender | None = None

    @property
    def logout_timeout(self) -> float:
        # Room for signing the token on top of the POST itself.
        return self.logout.timeout + 5.0 if self.logout is not None else 0.0

    def timeout_for(self, channel: str) -> float:
        if channel == LOGOUT:
            return self.logout_timeout
        return self.email_timeout if channel == Channel.EMAIL else self.sms_timeout


def build_senders(settings: Settings, *, logout_minter: LogoutTokenMinter | None = None) -> Senders:
    """``logout_minter`` signs back-channel logout tokens (``oidc/backchannel_logout``)."""
    return Senders(
        email=SmtpSender(settings.smtp),
        sms=build_sms_sender(settings.sms),
        email_timeout=settings.smtp.timeout_seconds,
        sms_timeout=settings.sms.timeout_seconds,
        logout=BackchannelSender(logout_minter, settings.oidc.backchannel_logout_timeout_seconds),
    )
