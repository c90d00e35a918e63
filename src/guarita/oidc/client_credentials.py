"""The ``client_credentials`` grant (RFC 6749 §4.4): the organisation's back ends acting on their
own behalf. Confidential clients only; the scopes about a person (``openid``, ``profile``…)
make no sense without one and are refused; no refresh token (§4.4.3).
"""

from __future__ import annotations

from guarita.oidc.claims import PERSON_SCOPES
from guarita.oidc.clients import Client
from guarita.oidc.errors import OAuthError, OAuthErrorCode
from guarita.oidc.token_response import for_client
from guarita.runtime import Runtime
from guarita.storage.audit import RequestContext


def allowed_scopes(client: Client) -> list[str]:
    return [s for s in client.scopes if s not in PERSON_SCOPES]


async def exchange(
    runtime: Runtime, client: Client, form: dict[str, str], context: RequestContext
) -> dict:
    if client.public:
        raise OAuthError(
            OAuthErrorCode.UNAUTHORIZED_CLIENT, "cliente publico nao usa client_credentials"
        )
    allowed = allowed_scopes(client)
    requested = list(dict.fromkeys((form.get("scope") or "").split())) or allowed
    if any(s not in allowed for s in requested):
        raise OAuthError(OAuthErrorCode.INVALID_SCOPE, "escopo nao permitido para este cliente")
    return await for_client(runtime, client, " ".join(requested))
