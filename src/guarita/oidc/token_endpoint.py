"""The token endpoint (RFC 6749 §3.2, §5): who is asking, then which grant.

Checks in order: a ``grant_type`` the server knows (``unsupported_grant_type``), the client's
authentication (``invalid_client``), that the client was registered for that grant
(``unauthorized_client``); then the grant's own handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from guarita.oidc import authorization_code, client_auth, client_credentials, refresh_token
from guarita.oidc.errors import OAuthError, OAuthErrorCode, invalid_request
from guarita.oidc.issuer import issuer
from guarita.oidc.profiles import STANDARD, Profile
from guarita.runtime import Runtime
from guarita.storage.audit import RequestContext

Handler = Callable[..., Awaitable[dict]]
GRANTS: dict[str, Handler] = {
    "authorization_code": authorization_code.exchange,
    "refresh_token": refresh_token.exchange,
    "client_credentials": client_credentials.exchange,
}
PATH = "/oauth/token"


def audiences(runtime: Runtime, path: str = PATH) -> tuple[str, ...]:
    """RFC 7523 §3: a client assertion names the issuer or the endpoint it is sent to."""
    base = issuer(runtime)
    return (base, base + path, base + "/")


def profile_audiences(runtime: Runtime, profile: Profile) -> tuple[str, ...]:
    """A profile's token endpoint: its issuer or the endpoint's own URL (RFC 7523 §3)."""
    if profile is STANDARD:
        return audiences(runtime)
    return (profile.issuer(runtime), profile.url(runtime, "token_endpoint"))


async def handle(
    runtime: Runtime,
    authorization: str | None,
    form: dict[str, str],
    context: RequestContext,
    profile: Profile = STANDARD,
) -> dict:
    grant_type = form.get("grant_type")
    if not grant_type:
        raise invalid_request("grant_type ausente")
    handler = GRANTS.get(grant_type)
    if handler is None:
        raise OAuthError(
            OAuthErrorCode.UNSUPPORTED_GRANT_TYPE, f"grant_type nao suportado: {grant_type[:40]}"
        )
    client = await client_auth.authenticate_request(
        runtime, authorization, form, profile_audiences(runtime, profile)
    )
    if client.profile != profile.name:
        # Each profile's clients use its own endpoints (oidc/profiles.py).
        raise OAuthError(
            OAuthErrorCode.UNAUTHORIZED_CLIENT, f"cliente do perfil {client.profile}: use o seu endpoint"
        )
    if grant_type not in client.grant_types:
        raise OAuthError(
            OAuthErrorCode.UNAUTHORIZED_CLIENT, f"cliente sem permissao para {grant_type}"
        )
    return await handler(runtime, client, form, context)
