"""RP-Initiated Logout 1.0 (§2 request, §3 redirect to the relying party).

``post_logout_redirect_uri`` is followed only when it is registered, exactly, for the client
named by the ``id_token_hint`` or ``client_id`` (§3: otherwise the OP "MUST NOT perform
post-logout redirection"). The person is asked to confirm unless the hint names the very person
signed in here (§2: the OP MUST ask when there is no hint or it does not match the session).
Signing out ends the Guarita session — every client relying on it — and revokes the grants made
under it, except those with ``offline_access``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from guarita.edge import i18n
from guarita.oidc import clients, grants
from guarita.oidc.clients import Client
from guarita.oidc.issuer import issuer
from guarita.oidc.keys import keystore
from guarita.oidc.token_response import sub_for
from guarita.oidc.tokens import UnreadableToken, read_id_token_hint
from guarita.runtime import Runtime
from guarita.services import sessions
from guarita.services.sessions import SessionInfo
from guarita.storage import plain_sql as sql
from guarita.storage.audit import RequestContext

PARAMS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
)


class LogoutError(Exception):
    """The request cannot be honoured; the message is for the person, in plain pt-BR."""


@dataclass
class LogoutRequest:
    client: Client | None
    post_logout_redirect_uri: str | None
    state: str | None
    hint_sub: str | None
    hint_sid: str | None
    ui_locale: str | None

    def hidden_fields(self) -> dict[str, str]:
        """What the confirmation form posts back (the hint is replaced by what it proved)."""
        found = {
            "client_id": self.client.id if self.client else None,
            "post_logout_redirect_uri": self.post_logout_redirect_uri,
            "state": self.state,
        }
        return {k: v for k, v in found.items() if v}

    def redirect(self) -> str | None:
        if not self.post_logout_redirect_uri:
            return None
        uri = self.post_logout_redirect_uri
        if not self.state:
            return uri
        return uri + ("&" if "?" in uri else "?") + urlencode({"state": self.state})


async def validate(runtime: Runtime, values: dict[str, str]) -> LogoutRequest:
    bad = LogoutError(
        "O pedido de saída veio de um aplicativo com dados inválidos. "
        "Feche esta página e tente sair de novo pelo aplicativo."
    )
    client = None
    hint_sub = hint_sid = None
    hint = values.get("id_token_hint")
    if hint:
        store = await keystore(runtime)
        try:
            claims = read_id_token_hint(store, hint, issuer=issuer(runtime))
        except UnreadableToken:
            raise bad from None
        aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        client = await clients.cached(runtime, str(aud[0]))
        hint_sub, hint_sid = str(claims["sub"]), claims.get("sid")
    client_id = values.get("client_id")
    if client_id:
        if client is not None and client.id != client_id:
            raise bad
        client = client or await clients.cached(runtime, client_id)
        if client is None:
            raise bad
    uri = values.get("post_logout_redirect_uri")
    if uri and (client is None or uri not in client.post_logout_redirect_uris):
        raise bad
    locale = next(
        (i18n.normalize(t) for t in (values.get("ui_locales") or "").split() if i18n.normalize(t)),
        None,
    )
    return LogoutRequest(
        client, uri, (values.get("state") or "")[:2048] or None, hint_sub, hint_sid, locale
    )


def needs_confirmation(
    runtime: Runtime, request: LogoutRequest, current: SessionInfo | None
) -> bool:
    if current is None:
        return False  # nothing to end here; just go back to the client
    if request.hint_sub is None or request.client is None:
        return True
    return request.hint_sub != sub_for(runtime, request.client, current.account_id)


async def end(
    runtime: Runtime, current: SessionInfo | None, request: LogoutRequest, context: RequestContext
) -> sessions.SignedOut:
    """Ends the session; the apps that signed in through it are told by the back channel, and
    the result lists the front-channel frames the next page must load (Front-Channel Logout
    1.0 §4)."""
    async def revoke_grants(session) -> dict:  # noqa: ANN001
        # RP-Initiated Logout 1.0 §2: the grants made under this sign-in end with it.
        return {"grants_revoked": await grants.revoke_session_grants(sql.in_session(session), current.sid)}

    return await sessions.sign_out(
        runtime, current, context, also=revoke_grants,
        details={"via": "oidc", "client_id": request.client.id if request.client else None},
    )
