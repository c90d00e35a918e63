"""The SMS providers, one line each (house style 2: a new provider is a module plus a line).

The key is the value of ``GUARITA_SMS__ADAPTER``; add it to ``SmsSettings.adapter`` too.
"""

from __future__ import annotations

from guarita.messaging.sms.log import LogSmsSender
from guarita.messaging.sms.twilio import TwilioSmsSender
from guarita.messaging.sms.webhook import WebhookSmsSender
from guarita.messaging.sms.zenvia import ZenviaSmsSender

ADAPTERS = {
    "log": LogSmsSender,
    "webhook": WebhookSmsSender,
    "zenvia": ZenviaSmsSender,
    "twilio": TwilioSmsSender,
}
