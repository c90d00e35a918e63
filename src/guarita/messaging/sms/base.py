"""The port every SMS provider implements, and the one HTTP call they share.

DESIGN.md › Stack: "a small ``SmsSender`` protocol with HTTP adapters via httpx; no heavy SDKs".
Each provider is one module in this package and one line in ``registry.py``.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from guarita.messaging.errors import DeliveryError


class SmsSender(Protocol):
    async def send(self, to_e164: str, text: str, *, message_id: str | None = None) -> None:
        """Delivers ``text`` to ``to_e164`` (``+5511987654321``) or raises.

        ``message_id`` is the outbox id, the same on every retry, for providers that can use it
        to drop a duplicate; adapters whose provider cannot may ignore it.
        """
        ...


# 4xx answers that depend on the configuration or on the moment, not on this message: after the
# operator fixes the token or the provider's rate limit passes, the same request succeeds.
RETRYABLE_CLIENT_ERRORS = frozenset({401, 403, 408, 409, 425, 429})


async def post(url: str, *, seconds: float, provider: str, **kwargs: Any) -> httpx.Response:
    """One POST with every phase (connect, write, read) bounded by ``seconds``; non-2xx raises.

    The worker also bounds the whole call, so a provider that trickles bytes cannot hold it.
    Redirects are not followed: a provider API answering 3xx is misconfigured, and a redirect
    would carry the credentials to another host.
    """
    async with httpx.AsyncClient(timeout=httpx.Timeout(seconds), follow_redirects=False) as client:
        response = await client.post(url, **kwargs)
    if not response.is_success:
        status = response.status_code
        # The body helps the operator (Twilio and Zenvia explain the refusal there); it is
        # the provider's text about our request and never contains our credentials.
        detail = " ".join(response.text.split())[:300]
        raise DeliveryError(
            f"{provider} respondeu HTTP {status}" + (f": {detail}" if detail else ""),
            permanent=400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS,
        )
    return response
