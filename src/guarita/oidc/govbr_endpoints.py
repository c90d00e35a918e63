"""The gov.br profile's HTTP edge: gov.br's paths under ``/govbr/`` (oidc/govbr.py).

The same handlers as ``/oauth/*`` (``oidc/endpoints.py``), called with the gov.br profile, plus
what only gov.br has: a logout found by ``post_logout_redirect_uri`` alone and the catalogue of
reliabilities (``/govbr/confiabilidades``). Only clients registered with ``--profile govbr`` get
anything here; the others get the same refusals as an unknown client.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guarita.domain.accounts import AccountStatus, TrustLevel
from guarita.edge import frame_src
from guarita.edge.auth import clear_session_cookie, load_session, request_context, runtime_of
from guarita.edge.render import render
from guarita.methods.base import N_
from guarita.oidc import acr, client_auth, clients, end_session, housekeeping, pkce, token_endpoint
from guarita.oidc import userinfo as userinfo_module
from guarita.oidc.claims import load_person
from guarita.oidc.clients import GOVBR_SCOPES, Client
from guarita.oidc.endpoints import (
    UNTRUSTED_CLIENT,
    PrebuiltJson,
    _authorize,
    _error_page,
    _redirect,
    json_response,
    protocol,
    read_form,
)
from guarita.oidc.govbr import GOVBR, PREFIX, required_level
from guarita.oidc.keys import cached, keystore
from guarita.runtime import Runtime
from guarita.services import step_up
from guarita.storage import plain_sql as sql

router = APIRouter(include_in_schema=False)
_DISCOVERY_CACHE = "oidc.discovery.govbr"

UNKNOWN_LOGOUT = N_(
    "O pedido de saída veio de um aplicativo com dados inválidos. "
    "Feche esta página e tente sair de novo pelo aplicativo."
)
BAD_CATALOGUE = N_(
    "O aplicativo que trouxe você até aqui pediu uma confirmação de identidade de um jeito que "
    "não podemos aceitar. Volte ao aplicativo e tente de novo."
)


# -- discovery and keys ------------------------------------------------------------------------
def metadata(runtime: Runtime) -> dict:
    """OpenID Connect Discovery 1.0 §3 for the gov.br issuer (with its trailing slash)."""
    return {
        "issuer": GOVBR.issuer(runtime),
        **{
            name: GOVBR.url(runtime, name)
            for name in (
                "authorization_endpoint",
                "token_endpoint",
                "userinfo_endpoint",
                "jwks_uri",
                "end_session_endpoint",
            )
        },
        "scopes_supported": list(GOVBR_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(client_auth.ASSERTION_ALGS),
        "code_challenge_methods_supported": list(pkce.METHODS),
        "claims_supported": [
            "sub", "preferred_username", "name", "social_name", "email", "email_verified",
            "phone_number", "phone_number_verified", "amr", "acr", "auth_time", "reliability_info",
            "scope",
        ],
        "acr_values_supported": list(acr.VALUES),
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "ui_locales_supported": ["pt-BR", "en", "es"],
    }


async def _discovery(runtime: Runtime) -> tuple[bytes, str, int]:
    found = runtime.extras.get(_DISCOVERY_CACHE)
    if found is None:
        body = json.dumps(metadata(runtime), separators=(",", ":")).encode()
        found = runtime.extras[_DISCOVERY_CACHE] = (
            body,
            '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        )
    return found[0], found[1], runtime.settings.oidc.discovery_max_age_seconds


async def _jwk(runtime: Runtime) -> tuple[bytes, str, int]:
    """RS256 RSA keys only (oidc/keys.py ``jwks_rs256``)."""
    store = cached(runtime) or await keystore(runtime)
    return store.jwks_rs256, store.etag_rs256, runtime.settings.oidc.jwks_max_age_seconds


openid_configuration = PrebuiltJson("application/json", _discovery)
jwk = PrebuiltJson("application/json", _jwk)


# -- token and userinfo ------------------------------------------------------------------------
@protocol
async def token(request: Request) -> Response:
    runtime = runtime_of(request)
    await housekeeping.maybe_sweep(runtime)
    form = await read_form(request)
    body = await token_endpoint.handle(
        runtime,
        request.headers.get("authorization"),
        form,
        request_context(request),
        profile=GOVBR,
    )
    return json_response(body)


@protocol
async def userinfo(request: Request) -> Response:
    """gov.br's ``/userinfo/``: answered at the address itself, never redirected (a redirect
    would lose the Authorization header in most clients)."""
    form_token = None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form_token = (await read_form(request)).get("access_token")
    bearer = userinfo_module.bearer(request.headers.get("authorization"), form_token)
    claims = await userinfo_module.userinfo(runtime_of(request), bearer, GOVBR)
    return json_response(claims)


router.add_route(PREFIX + "/token", token, methods=["POST"], include_in_schema=False)
for path in (PREFIX + "/userinfo/", PREFIX + "/userinfo"):
    router.add_route(path, userinfo, methods=["GET", "POST"], include_in_schema=False)
router.add_route(PREFIX + "/jwk", jwk, methods=["GET", "POST"], include_in_schema=False)
router.add_route(
    PREFIX + "/.well-known/openid-configuration",
    openid_configuration,
    methods=["GET"],
    include_in_schema=False,
)


# -- authorization -----------------------------------------------------------------------------
@router.get(PREFIX + "/authorize")
async def authorize_get(request: Request) -> Response:
    """gov.br's Passo 3; the checks and the sign-in are ``/oauth/authorize``'s."""
    return await _authorize(request, list(request.query_params.multi_items()), GOVBR)


@router.post(PREFIX + "/authorize")
async def authorize_post(request: Request) -> Response:
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a malformed body is the client's mistake
        return _error_page(request, UNTRUSTED_CLIENT)
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return await _authorize(request, pairs, GOVBR)


# -- logout ------------------------------------------------------------------------------------
async def govbr_client_for_logout(runtime: Runtime, uri: str) -> Client | None:
    """gov.br's clients send only ``post_logout_redirect_uri``: the active gov.br client that
    registered it (RP-Initiated Logout 1.0 §3: only a registered URI is ever followed)."""
    async with runtime.db.transaction() as session:
        found = await clients.list_all(session)
    return next(
        (
            c
            for c in found
            if c.active and c.profile == GOVBR.name and uri in c.post_logout_redirect_uris
        ),
        None,
    )


async def _logout(request: Request, values: dict[str, str]) -> Response:
    """gov.br's "Acesso ao Serviço de Log Out": ends the session at once and goes back.

    No confirmation page, as gov.br: its clients send no ``id_token_hint``, and asking would
    break every one of them. The worst a forged link can do is sign the person out.
    """
    runtime = runtime_of(request)
    current = await load_session(request)
    uri = values.get("post_logout_redirect_uri")
    client = await govbr_client_for_logout(runtime, uri) if uri else None
    if client is None:
        return _error_page(request, UNKNOWN_LOGOUT)
    lreq = end_session.LogoutRequest(
        client, uri, (values.get("state") or "")[:2048] or None, None, None, None
    )
    signed_out = await end_session.end(runtime, current, lreq, request_context(request))
    frames = frame_src.allow(request, signed_out.frontchannel)
    if frames:
        # Other apps of this session asked for Front-Channel Logout 1.0 §4: their frames load
        # on the signed-out page, which then goes on to the gov.br client.
        response = render(request, "oidc/logged_out.html", client=client, frames=frames,
                          next_url=lreq.redirect())
    else:
        response = _redirect(lreq.redirect())
    clear_session_cookie(response, runtime.settings)
    return response


@router.get(PREFIX + "/logout")
async def logout_get(request: Request) -> Response:
    return await _logout(request, dict(request.query_params))


@router.post(PREFIX + "/logout")
async def logout_post(request: Request) -> Response:
    # gov.br's own example posts an empty form to the URL with the query string.
    values = dict(request.query_params)
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001
        return _error_page(request, UNKNOWN_LOGOUT)
    values.update({k: v for k, v in form.items() if isinstance(v, str)})
    return await _logout(request, values)


# -- the catalogue of reliabilities ------------------------------------------------------------
GIVE_UP = "desistir"


async def _catalogue(request: Request, values: dict[str, str]) -> Response:
    """gov.br's Passo 12: ``?client_id=&niveis=2,3&redirect_uri=``. The person comes back to
    ``redirect_uri`` (registered for that client) once their level meets ``niveis``; without
    ``niveis``, prata (the first level above what registration gives).

    Below it, the person is led through "Para continuar, confirme sua identidade"
    (``services/step_up.py``), whose way back is this very address: it checks the level again
    and so returns to the client only when it is met. "Voltar sem confirmar" comes here with
    ``desistir=1`` and goes back to the client unchanged, which sees the level in its tokens."""
    runtime = runtime_of(request)
    client = await clients.cached(runtime, values.get("client_id", ""))
    uri = values.get("redirect_uri")
    if (
        client is None
        or not client.active
        or client.profile != GOVBR.name
        or not uri
        or uri not in client.redirect_uris
    ):
        return _error_page(request, BAD_CATALOGUE)
    if "niveis" in values:
        level = required_level(values["niveis"])
        if level is None:
            return _error_page(request, BAD_CATALOGUE)
    else:
        level = TrustLevel.PRATA
    if values.get(GIVE_UP) == "1":
        return _redirect(uri)
    kept = {k: values[k] for k in ("client_id", "niveis", "redirect_uri") if k in values}
    here = PREFIX + "/confiabilidades?" + urlencode(kept)
    current = await load_session(request)
    if current is None:
        return _redirect("/entrar?" + urlencode({"next": here}))

    async def person_of(tx: sql.Tx):  # noqa: ANN202
        return await load_person(tx, current.account_id, identifiers=False)

    person = await sql.read(runtime.db, person_of)
    if person is None or person.status != AccountStatus.ACTIVE:
        return _error_page(request, BAD_CATALOGUE)
    if acr.satisfies(person.trust_level, [level.value]):
        return _redirect(uri)
    ticket = await step_up.begin(
        runtime,
        current.account_id,
        level,
        here,
        cancel_to=PREFIX + "/confiabilidades?" + urlencode({**kept, GIVE_UP: "1"}),
        app=client.name,
    )
    return _redirect(step_up.page_url(ticket))


@router.get(PREFIX + "/confiabilidades")
async def catalogue_get(request: Request) -> Response:
    return await _catalogue(request, dict(request.query_params))


@router.post(PREFIX + "/confiabilidades")
async def catalogue_post(request: Request) -> Response:
    values = dict(request.query_params)
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001
        return _error_page(request, BAD_CATALOGUE)
    values.update({k: v for k, v in form.items() if isinstance(v, str)})
    return await _catalogue(request, values)
