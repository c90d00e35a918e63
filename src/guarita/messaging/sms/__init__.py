"""SMS delivery: the :class:`SmsSender` port and one adapter per provider."""

from __future__ import annotations

from guarita.config import SmsSettings
from guarita.messaging.sms.base import SmsSender


def build_sms_sender(settings: SmsSettings) -> SmsSender:
    from guarita.messaging.sms.registry import ADAPTERS

    try:
        adapter = ADAPTERS[settings.adapter]
    except KeyError:
        raise ValueError(f"adaptador de SMS desconhecido: {settings.adapter!r}") from None
    return adapter(settings)


__all__ = ["SmsSender", "build_sms_sender"]
