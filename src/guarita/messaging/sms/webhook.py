"""``GUARITA_SMS__ADAPTER=webhook``: the organisation's own SMS gateway behind one URL.

Request: ``POST <webhook_url>`` with JSON ``{"to": "+5511987654321", "text": "...", "id": "42"}``
and the header ``X-Guarita-Secret: <webhook_secret>`` so the gateway can refuse anyone else.
Any 2xx answer means sent. ``id`` is the outbox id, repeated on retries: a gateway that keeps the
ids it has seen can drop a duplicate (docs/messaging.md).
"""

from __future__ import annotations

from guarita.config import SmsSettings
from guarita.messaging.errors import DeliveryError
from guarita.messaging.sms.base import post


class WebhookSmsSender:
    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    async def send(self, to_e164: str, text: str, *, message_id: str | None = None) -> None:
        settings = self.settings
        if not settings.webhook_url:
            raise DeliveryError("GUARITA_SMS__WEBHOOK_URL não está configurada")
        headers = {}
        if settings.webhook_secret is not None:
            headers["X-Guarita-Secret"] = settings.webhook_secret.get_secret_value()
        await post(
            settings.webhook_url,
            seconds=settings.timeout_seconds,
            provider="O webhook de SMS",
            json={"to": to_e164, "text": text, "id": message_id},
            headers=headers,
        )
