"""``GUARITA_SMS__ADAPTER=zenvia``: Zenvia API v2, SMS channel.

Zenvia OpenAPI spec v2, "Send a message" on the SMS channel
(https://zenvia.github.io/zenvia-openapi-spec/v2/, sample ``spec/code_samples/channels/
sms-messages/sample.sh`` of github.com/zenvia/zenvia-openapi-spec)::

    POST https://api.zenvia.com/v2/channels/sms/messages
    X-API-TOKEN: <token>
    Content-Type: application/json
    {"from": "<sender id>", "to": "5511987654321",
     "contents": [{"type": "text", "text": "..."}]}

The recipient is the full international number without the ``+``; ``from`` is the sender
identifier of the account (``GUARITA_SMS__ZENVIA_FROM``). A 2xx answer means accepted.
"""

from __future__ import annotations

from guarita.config import SmsSettings
from guarita.messaging.errors import DeliveryError
from guarita.messaging.sms.base import post


class ZenviaSmsSender:
    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    async def send(self, to_e164: str, text: str, *, message_id: str | None = None) -> None:
        settings = self.settings
        if settings.zenvia_token is None:
            raise DeliveryError("GUARITA_SMS__ZENVIA_TOKEN não está configurado")
        await post(
            settings.zenvia_url,
            seconds=settings.timeout_seconds,
            provider="A Zenvia",
            json={
                "from": settings.zenvia_from,
                "to": to_e164.lstrip("+"),
                "contents": [{"type": "text", "text": text}],
            },
            headers={"X-API-TOKEN": settings.zenvia_token.get_secret_value()},
        )
