"""Where the forms of an authorization flow may send the browser (CSP ``form-action``).

The pages of a flow — sign-in, consent, logout confirmation — end in a redirect to the
client. A policy of ``form-action 'self' http: https:`` let any page post anywhere and still
blocked the custom schemes of native apps; instead, each page of a flow allows exactly the
redirect of its flow (CSP3 §6.3.1; OWASP ASVS 5.0 V3.4), and every other page allows 'self'.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import Request

from guarita.oidc import clients, interactions, redirect_uris
from guarita.oidc.authorization import AuthorizationRequest
from guarita.oidc.clients import Client
from guarita.oidc.interactions import RESUME_PATH, browser_cookie


def of_redirect(client: Client | None, uri: str | None) -> list[str]:
    if not uri or client is None:
        return []
    source = redirect_uris.csp_source(uri, native=client.application_type == "native")
    return [source] if source else []


async def for_next(request: Request, next_path: str | None) -> list[str]:
    """The sign-in page's: when it will go back to a parked authorization request
    (``/oauth/authorize/resume?interaction=…``), that request's redirect URI."""
    if not next_path or not next_path.startswith(RESUME_PATH + "?"):
        return []
    interaction_id = (parse_qs(urlsplit(next_path).query).get("interaction") or [None])[0]
    runtime = request.app.state.runtime
    async with runtime.db.read() as session:
        found = await interactions.load(
            session, interaction_id,
            request.cookies.get(browser_cookie(runtime.settings.secure_cookies)),
        )
    if found is None:
        return []
    client = await clients.cached(runtime, found.client_id)
    if client is None or not client.active:
        return []
    return of_redirect(client, AuthorizationRequest.from_params(found.params).redirect_uri)
