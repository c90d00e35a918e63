"""OpenID Connect Back-Channel Logout 1.0 — the provider's half.

``services/app_logout`` queues a notice in the outbox when a session ends (sign-out by page,
API or RP-Initiated Logout; "Encerrar" and "Sair de todos os outros"; a password change, a
recovery, "Não foi você?", the desk disabling an account); the outbox worker
(``messaging/backchannel``) asks :func:`mint` for a logout token at each attempt and POSTs it
to the client's ``backchannel_logout_uri`` (§2.5). :func:`install` gives the worker of a
process that minter; ``app.create_app`` and ``guarita worker`` call it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from guarita.messaging import backchannel
from guarita.messaging.errors import DeliveryError
from guarita.oidc import clients, profiles, tokens
from guarita.oidc.keys import keystore
from guarita.runtime import Runtime


async def mint(runtime: Runtime, notice: dict[str, Any]) -> str:
    """A logout token (§2.4) for ``notice`` (``client_id``, ``account_id``, ``sid``, ``uri``).

    The notice fails for good when the client was disabled or no longer has that address: the
    token goes only to the URI the client has registered now.
    """
    client = await clients.cached(runtime, str(notice.get("client_id") or ""))
    if client is None or not client.active:
        raise DeliveryError("O cliente foi desativado; o aviso de saída não é enviado.",
                            permanent=True)
    if client.backchannel_logout_uri != notice.get("uri"):
        raise DeliveryError("O cliente mudou o endereço de backchannel_logout_uri; "
                            "o aviso não é enviado ao antigo.", permanent=True)
    store = await keystore(runtime)
    # The issuer and sub the client knows from its ID tokens (its profile's: gov.br's for a
    # gov.br-profile client).
    profile = profiles.of(client)
    return tokens.logout_token(
        store,
        issuer=profile.issuer(runtime),
        client_id=client.id,
        alg=client.id_token_alg,
        sub=await profile.subject(runtime, client, str(notice["account_id"])),
        sid=notice.get("sid"),
        ttl=runtime.settings.oidc.logout_token_ttl_seconds,
    )


def install(runtime: Runtime) -> None:
    """Lets this process's outbox worker sign logout tokens."""
    runtime.extras[backchannel.MINTER] = partial(mint, runtime)
