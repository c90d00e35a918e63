"""``GUARITA_SMS__ADAPTER=twilio``: Twilio Programmable Messaging, Message resource.

Twilio REST API, "Create a Message resource"
(https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource)::

    POST https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages.json
    Authorization: Basic base64(AccountSid:AuthToken)
    Content-Type: application/x-www-form-urlencoded
    To=%2B5511987654321&From=%2B15005550006&Body=...

``To`` and ``From`` are E.164 with the ``+``. Twilio answers 201 Created with the message JSON;
any 2xx means accepted (https://www.twilio.com/docs/usage/your-request-to-twilio).
"""

from __future__ import annotations

from urllib.parse import quote

from guarita.config import SmsSettings
from guarita.messaging.errors import DeliveryError
from guarita.messaging.sms.base import post


class TwilioSmsSender:
    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    async def send(self, to_e164: str, text: str, *, message_id: str | None = None) -> None:
        settings = self.settings
        sid = settings.twilio_account_sid
        if not sid or settings.twilio_auth_token is None or not settings.twilio_from:
            raise DeliveryError(
                "O Twilio precisa de GUARITA_SMS__TWILIO_ACCOUNT_SID, "
                "GUARITA_SMS__TWILIO_AUTH_TOKEN e GUARITA_SMS__TWILIO_FROM"
            )
        base = settings.twilio_url.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json"
        await post(
            url,
            seconds=settings.timeout_seconds,
            provider="O Twilio",
            data={"To": to_e164, "From": settings.twilio_from, "Body": text},
            auth=(sid, settings.twilio_auth_token.get_secret_value()),
        )
