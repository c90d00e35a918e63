"""``GUARITA_SMS__ADAPTER=log``: development only, nothing leaves the machine.

The message is written to the log and stays readable at ``/dev/outbox``; ``guarita check``
refuses this adapter in production (config.py ``problems``).
"""

from __future__ import annotations

import structlog

from guarita.config import SmsSettings

log = structlog.get_logger("guarita.sms")


class LogSmsSender:
    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    async def send(self, to_e164: str, text: str, *, message_id: str | None = None) -> None:
        log.info("sms_logged", to=to_e164, text=text, message_id=message_id)
