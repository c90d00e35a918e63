"""Delivering back-channel logout notices (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8).

A notice is an outbox row of channel ``logout`` (``outbox.enqueue_logout``): the client, the
person and the session. At each attempt the provider signs a fresh logout token for it (the
``LogoutTokenMinter`` the composition root installs, ``oidc/backchannel_logout.install``), and
the token is POSTed as ``application/x-www-form-urlencoded`` with the single parameter
``logout_token`` to the registered ``backchannel_logout_uri`` — the row's ``to``, nowhere else:
redirects are not followed.

The client answers 200 (or 204) when it logged the session out; §2.8 says 400 when the token
could not be used, which retrying with the same claims cannot change, so every 4xx but 408,
425 and 429 fails the notice at once. 5xx, timeouts and refused connections are retried with
the outbox's backoff.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from guarita.messaging.errors import DeliveryError

# ``runtime.extras`` key of the minter: ``await mint(notice) -> token`` where ``notice`` is the
# row's JSON (``client_id``, ``account_id``, ``sid``) plus ``uri``.
MINTER = "messaging.logout_token_minter"
LogoutTokenMinter = Callable[[dict[str, Any]], Awaitable[str]]
RETRYABLE_4XX = frozenset({408, 425, 429})


class BackchannelSender:
    def __init__(self, mint: LogoutTokenMinter | None, timeout: float) -> None:
        self.mint = mint
        self.timeout = timeout

    async def send(self, uri: str, notice_json: str) -> None:
        if self.mint is None:
            # A worker built without the provider (it cannot sign): another one will send it.
            raise DeliveryError("Este processo não assina logout tokens; tentaremos de novo.")
        try:
            notice = json.loads(notice_json)
        except ValueError:
            raise DeliveryError("Aviso de saída ilegível.", permanent=True) from None
        token = await self.mint({**notice, "uri": uri})
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            try:
                response = await client.post(
                    uri, data={"logout_token": token}, headers={"Cache-Control": "no-store"}
                )
            except httpx.TimeoutException:
                raise DeliveryError(
                    f"O cliente não respondeu em {self.timeout:g} s (tempo esgotado)"
                ) from None
            except httpx.HTTPError as exc:
                raise DeliveryError(f"O cliente não pôde ser alcançado: {exc.__class__.__name__}") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        permanent = 300 <= status < 500 and status not in RETRYABLE_4XX
        raise DeliveryError(f"O cliente respondeu {status} ao logout token.", permanent=permanent)
