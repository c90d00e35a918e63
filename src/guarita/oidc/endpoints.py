"""The provider's HTTP edge: thin adapters from requests to the protocol modules (house style 3).

Machine endpoints (discovery, JWKS, token, userinfo, introspection, revocation) are bare
Starlette routes: no FastAPI parameter parsing on the hot path, errors answered here in the
shape of RFC 6749 §5.2 / RFC 6750 §3 rather than the ``/api/v1`` envelope. The browser
endpoints (authorization, consent, logout) answer pages in pt-BR when the client cannot be
trusted with the error.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Route

from guarita.domain.errors import GuaritaError
from guarita.edge import form_action, forms, frame_src, sign_in_context
from guarita.edge.auth import clear_session_cookie, load_session, request_context, runtime_of
from guarita.edge.render import render
from guarita.oidc import (
    acr,
    authorization,
    authorization_code,
    client_auth,
    clients,
    consent,
    discovery,
    end_session,
    form_targets,
    housekeeping,
    interactions,
    introspection,
    keys,
    profiles,
    revocation,
    token_endpoint,
    userinfo,
)
from guarita.oidc.authorization import AuthorizationRequest, Need, Situation
from guarita.oidc.claims import Person, label, load_person
from guarita.oidc.clients import Client
from guarita.oidc.errors import OAuthError, OAuthErrorCode, invalid_request
from guarita.oidc.events import OidcEvent
from guarita.oidc.profiles import STANDARD, Profile
from guarita.oidc.token_response import sub_for
from guarita.runtime import Runtime
from guarita.services import guard, step_up, trust
from guarita.services.sessions import SessionInfo
from guarita.storage import plain_sql as sql
from guarita.storage.audit import record
from guarita.storage.oidc_tables import OidcInteraction

log = structlog.get_logger("guarita.oidc")
router = APIRouter(include_in_schema=False)

MAX_BODY = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
RESUME_PATH = sign_in_context.RESUME_PATH


# -- shared helpers ----------------------------------------------------------------------------
def json_response(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        status_code=status,
        media_type="application/json",
        headers={**NO_STORE, **(headers or {})},
    )


def error_response(error: OAuthError) -> Response:
    return json_response(error.body(), error.status, error.headers)


def protocol(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """RFC 6749 §5.2 errors for every failure of a machine endpoint, ``server_error`` included."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except OAuthError as error:
            return error_response(error)
        except HTTPException as cut_off:
            if cut_off.status_code != 413:
                raise
            # The body limit cut a streamed body off (web/body_limit.py): its 413 replaces
            # whatever is answered here; the status is what the access log and metrics record.
            return Response(status_code=cut_off.status_code, headers=NO_STORE)
        except Exception:  # noqa: BLE001 - the edge: log it, answer in the protocol's shape
            log.exception("oidc_unexpected_error", path=request.url.path)
            return error_response(OAuthError(OAuthErrorCode.SERVER_ERROR, "erro inesperado"))

    # A machine endpoint: no path parameters, answers in its own shape, so ``fast_path`` may
    # call it without FastAPI's routing and exception middlewares.
    wrapper.machine = True
    return wrapper


async def read_form(request: Request) -> dict[str, str]:
    """RFC 6749 §3.2: ``application/x-www-form-urlencoded``, each parameter at most once, and
    parameters sent without a value treated as omitted (§3.1)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise invalid_request("envie application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise invalid_request("corpo grande demais")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise invalid_request("corpo ilegivel") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise invalid_request(f"parametro repetido: {name[:40]}")
        if value != "":
            values[name] = value
    return values


class PrebuiltJson:
    """A bare ASGI endpoint for documents that change rarely: bytes built once, a strong
    ``ETag`` (RFC 9110 §8.8.3) answered with 304, ``Cache-Control: public`` and CORS open, since
    discovery and keys are public and browsers' relying parties fetch them cross-origin."""

    def __init__(
        self, media_type: str, source: Callable[[Runtime], Awaitable[tuple[bytes, str, int]]]
    ):
        self.media_type = media_type.encode()
        self.source = source
        # Headers built once per (ETag, max-age): both come from the runtime's settings and keys.
        self.built: tuple[tuple[str, int], list, list] | None = None

    def _headers(self, etag: str, max_age: int, length: int) -> tuple[list, list]:
        common = [
            (b"cache-control", f"public, max-age={max_age}".encode()),
            (b"etag", etag.encode()),
            (b"access-control-allow-origin", b"*"),
            (b"x-content-type-options", b"nosniff"),
        ]
        return (
            [
                *common,
                (b"content-type", self.media_type),
                (b"content-length", str(length).encode()),
            ],
            [*common, (b"content-length", b"0")],
        )

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        body, etag, max_age = await self.source(scope["app"].state.runtime)
        if self.built is None or self.built[0] != (etag, max_age):
            self.built = ((etag, max_age), *self._headers(etag, max_age, len(body)))
        _, full, empty = self.built
        match = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
        if match is not None and etag.encode() in match:
            await send({"type": "http.response.start", "status": 304, "headers": empty})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": full})
        await send({"type": "http.response.body", "body": body})


# -- discovery and keys ------------------------------------------------------------------------
async def _discovery(runtime: Runtime) -> tuple[bytes, str, int]:
    """OpenID Connect Discovery 1.0 §4; RFC 8414 §3."""
    built = discovery.prebuilt(runtime)
    return built.body, built.etag, runtime.settings.oidc.discovery_max_age_seconds


async def _jwks(runtime: Runtime) -> tuple[bytes, str, int]:
    """RFC 7517 §5; OpenID Connect Core 1.0 §10.1.1."""
    store = keys.cached(runtime) or await keys.keystore(runtime)
    return store.jwks, store.etag, runtime.settings.oidc.jwks_max_age_seconds


openid_configuration = PrebuiltJson("application/json", _discovery)
jwks = PrebuiltJson("application/jwk-set+json", _jwks)
FAST_PATHS = {
    "/.well-known/openid-configuration": openid_configuration,
    "/.well-known/oauth-authorization-server": openid_configuration,
    "/oauth/jwks": jwks,
}


def machine_routes(app) -> dict[str, dict[str, Route]]:  # noqa: ANN001
    """The machine endpoints (``protocol`` handlers) registered on the application, by path and
    method: the router stays the one place that says which endpoints exist and where, the gov.br
    profile's included when it is enabled."""
    found: dict[str, dict[str, Route]] = {}
    for route in _routes(app.routes):
        if (
            isinstance(route, Route)
            and getattr(route.endpoint, "machine", False)
            and not route.param_convertors
        ):
            for method in route.methods or ():
                if method != "HEAD":
                    found.setdefault(route.path, {})[method] = route
    return found


def _routes(routes: list) -> Iterator[Route]:
    """The routes of the application and of the routers it includes without a prefix (FastAPI
    keeps an included router as one entry holding the original)."""
    for route in routes:
        if isinstance(route, Route):
            yield route
        included = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if included is not None and getattr(context, "prefix", None) == "":
            yield from _routes(included.routes)


async def _machine(scope, receive, send) -> None:  # noqa: ANN001
    """The innermost application of the machine lane: the route's own handler, nothing else."""
    response = await scope["endpoint"](Request(scope, receive))
    await response(scope, receive, send)


def machine_lane(app):  # noqa: ANN001, ANN201
    """``_machine`` inside the application's own middleware (``app.user_middleware``: the body
    limit, then security headers, request id, access log and metrics), built the way Starlette
    builds its stack: the same classes with the same arguments, outermost first."""
    lane = _machine
    for cls, args, kwargs in reversed(app.user_middleware):
        lane = cls(lane, *args, **kwargs)
    return lane


def fast_path(app):  # noqa: ANN001, ANN201
    """Wraps the whole ASGI application so that the provider's hot endpoints skip FastAPI.

    Discovery and JWKS (``FAST_PATHS``) skip the middleware stack too: measured on one core,
    ~9,300 requests per CPU-second through FastAPI and the middleware, ~40,000 this way
    (node-oidc-provider: ~13,000 and ~21,000). The documents are public, immutable between key
    rotations, and carry their own caching and ``nosniff`` headers; what they skip is routing,
    access logs and metrics.

    The machine endpoints (token, userinfo, introspection, revocation: ``machine_routes``) go
    through ``machine_lane``: the application's own middleware (body limit, security headers,
    request id, access log with the route's template, metrics) around the very handler the
    router holds; what they skip is FastAPI's routing, its exception middlewares and its
    ``AsyncExitStack``, none of which they use (``protocol`` answers every error). Another
    method on those paths (``GET /oauth/token``) goes to the application, which answers 405.

    The composition root wraps once (``app.serve_app``); wrapping an already wrapped
    application returns it unchanged, since the endpoints need the FastAPI application itself in
    ``scope["app"]`` (its ``state.runtime``).
    """
    if getattr(app, "fast_path_of", None) is not None:
        return app
    machines = machine_routes(app)
    lane = machine_lane(app)

    async def wrapped(scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] == "http":
            path = scope["path"]
            if scope["method"] == "GET":
                endpoint = FAST_PATHS.get(path)
                if endpoint is not None:
                    scope["app"] = app
                    await endpoint(scope, receive, send)
                    return
            routes = machines.get(path)
            route = routes.get(scope["method"]) if routes is not None else None
            if route is not None:
                # What Starlette's router would have put in the scope for this route.
                scope["app"] = app
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                await lane(scope, receive, send)
                return
        await app(scope, receive, send)

    wrapped.fast_path_of = app
    return wrapped


# -- token, userinfo, introspection, revocation ------------------------------------------------
@protocol
async def token(request: Request) -> Response:
    runtime = runtime_of(request)
    await housekeeping.maybe_sweep(runtime)
    form = await read_form(request)
    body = await token_endpoint.handle(
        runtime, request.headers.get("authorization"), form, request_context(request)
    )
    return json_response(body)


@protocol
async def userinfo_endpoint(request: Request) -> Response:
    """OpenID Connect Core 1.0 §5.3.1: GET and POST."""
    form_token = None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form_token = (await read_form(request)).get("access_token")
    bearer = userinfo.bearer(request.headers.get("authorization"), form_token)
    claims = await userinfo.userinfo(runtime_of(request), bearer)
    return json_response(claims)


async def _authenticated(request: Request, path: str) -> tuple[Client, dict[str, str]]:
    runtime = runtime_of(request)
    form = await read_form(request)
    client = await client_auth.authenticate_request(
        runtime, request.headers.get("authorization"), form, token_endpoint.audiences(runtime, path)
    )
    return client, form


@protocol
async def introspect(request: Request) -> Response:
    """RFC 7662 §2."""
    client, form = await _authenticated(request, "/oauth/introspect")
    found = await introspection.introspect(
        runtime_of(request), client, form.get("token"), form.get("token_type_hint")
    )
    return json_response(found)


@protocol
async def revoke(request: Request) -> Response:
    """RFC 7009 §2."""
    client, form = await _authenticated(request, "/oauth/revoke")
    await revocation.revoke(
        runtime_of(request), client, form.get("token"), form.get("token_type_hint")
    )
    return Response(status_code=200, headers=NO_STORE)


# Most frequent first: routing tries routes in order.
router.add_route("/oauth/token", token, methods=["POST"], include_in_schema=False)
router.add_route(
    "/oauth/userinfo", userinfo_endpoint, methods=["GET", "POST"], include_in_schema=False
)
router.add_route("/oauth/jwks", jwks, methods=["GET"], include_in_schema=False)
router.add_route(
    "/.well-known/openid-configuration",
    openid_configuration,
    methods=["GET"],
    include_in_schema=False,
)
router.add_route("/oauth/introspect", introspect, methods=["POST"], include_in_schema=False)
router.add_route("/oauth/revoke", revoke, methods=["POST"], include_in_schema=False)
router.add_route(
    "/.well-known/oauth-authorization-server",
    openid_configuration,
    methods=["GET"],
    include_in_schema=False,
)


# -- authorization -----------------------------------------------------------------------------
_browser_cookie = sign_in_context.browser_cookie


def _error_page(request: Request, message: str, status: int = 400) -> Response:
    return render(request, "oidc/error.html", status_code=status, message=message)


UNTRUSTED_CLIENT = (
    "O aplicativo que trouxe você até aqui pediu a entrada de um jeito que não "
    "podemos aceitar. Volte ao aplicativo e tente de novo. Se o problema continuar, "
    "ligue para a central de atendimento."
)
EXPIRED_INTERACTION = (
    "Este pedido de entrada expirou ou já foi usado. Volte ao aplicativo e "
    'toque em "Entrar" de novo.'
)


def _redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


async def _situation(
    runtime: Runtime,
    request: AuthorizationRequest,
    client: Client,
    current: SessionInfo | None,
    since: datetime | None = None,
    consented: bool = False,
) -> Situation:
    if current is None:
        return Situation(None, None, None, since, consented)

    async def person_of(tx: sql.Tx) -> Person | None:
        return await load_person(tx, current.account_id, identifiers=False)

    person = await sql.read(runtime.db, person_of)
    if person is not None:
        # The level the decision and the tokens' acr use is the current one: evidence whose
        # expiry passed no longer counts (services/trust.py), even before anything else wrote.
        async with runtime.db.transaction() as session:
            level = await trust.current_level(session, runtime.settings, current.account_id)
        person = dataclasses.replace(person, trust_level=level.value)
    remembered = False
    if not client.first_party:
        async with runtime.db.transaction() as session:
            remembered = await consent.covers(
                session, current.account_id, client.id, request.scopes
            )
    sub = None
    if person is not None:
        # The profile's sub (the gov.br profile's is the CPF, read only when a hint needs it).
        profile = profiles.of(client)
        sub = (
            sub_for(runtime, client, current.account_id)
            if profile is STANDARD or request.hint_sub is None
            else await profile.subject(runtime, client, current.account_id)
        )
    return Situation(current, person, sub, since, consented, remembered)


def _login_url(areq: AuthorizationRequest, interaction_id: str) -> str:
    """The sign-in page (docs/recovery.md › Entrar), told where to come back to (a relative path)."""
    query = {"next": RESUME_PATH + "?" + urlencode({"interaction": interaction_id})}
    if areq.login_hint:
        query["identifier"] = areq.login_hint
    if areq.ui_locale:
        query["lang"] = areq.ui_locale.replace("_", "-")
    return "/entrar?" + urlencode(query)


def _login_target(areq: AuthorizationRequest, interaction_id: str, decision) -> str:  # noqa: ANN001
    """Sign-in, or only the second step when a signed-in person lacks one (docs/two-step.md)."""
    if decision.reason == "mfa":
        resume = RESUME_PATH + "?" + urlencode({"interaction": interaction_id})
        return "/entrar/mais-seguranca?" + urlencode({"next": resume})
    return _login_url(areq, interaction_id)


async def _proceed(
    request: Request,
    client: Client,
    areq: AuthorizationRequest,
    interaction: OidcInteraction | None,
    *,
    consented: bool = False,
    gave_up: bool = False,
) -> Response:
    """Decide, then: issue the code, or park the request and send the person to sign in, to
    confirm their identity (step-up) or to the consent page (Core §3.1.2.3–§3.1.2.5)."""
    runtime = runtime_of(request)
    current = await load_session(request)
    since = interaction.created_at if interaction is not None else None
    situation = await _situation(runtime, areq, client, current, since, consented)
    try:
        decision = authorization.decide(areq, client, situation)
    except OAuthError as error:
        if interaction is not None:
            async with runtime.db.transaction() as session:
                await interactions.complete(session, interaction.id)
        return _redirect(
            authorization.error_redirect(
                runtime, areq.redirect_uri, error, areq.state, areq.issuer
            )
        )

    if decision.need is Need.NOTHING:
        if interaction is not None and consented and not client.first_party:
            held = await _held_new_app(runtime, situation.person.account_id, client.id)
            if held is not None:
                return _error_page(request, held.message, status=held.status)
        if interaction is not None:
            async with runtime.db.transaction() as session:
                if not await interactions.complete(session, interaction.id):
                    return _error_page(request, EXPIRED_INTERACTION)
                if consented and not client.first_party:
                    await consent.grant(
                        session, situation.person.account_id, client.id, areq.scopes
                    )
                    await record(
                        session,
                        OidcEvent.CONSENT_GRANTED,
                        subject=situation.person.account_id,
                        context=request_context(request),
                        details={"client_id": client.id, "scope": areq.scope},
                    )
        code = await authorization_code.issue(
            runtime, client, areq, current, situation.person, request_context(request)
        )
        return _redirect(authorization.code_redirect(runtime, areq, code))

    response: Response
    if interaction is None:
        browser = request.cookies.get(_browser_cookie(runtime)) or interactions.new_browser_token()
        async with runtime.db.transaction() as session:
            interaction = await interactions.create(
                session,
                client_id=client.id,
                params=areq.to_params(),
                browser_token=browser,
                ttl=_interaction_ttl(runtime),
            )
        if decision.need is Need.LOGIN:
            target = _login_target(areq, interaction.id, decision)
        elif decision.need is Need.STEP_UP:
            target = await _step_up_target(runtime, client, areq, interaction.id, current)
        else:
            target = RESUME_PATH + "?" + urlencode({"interaction": interaction.id})
        response = _redirect(target)
        response.set_cookie(
            _browser_cookie(runtime),
            browser,
            httponly=True,
            samesite="lax",
            secure=runtime.settings.secure_cookies,
            path="/",
        )
        return response
    if decision.need is Need.LOGIN:
        return _redirect(_login_target(areq, interaction.id, decision))
    if decision.need is Need.STEP_UP:
        if gave_up:
            # The person chose "Voltar sem confirmar": the client hears that its acr_values
            # could not be met ("OpenID Connect Core Error Code
            # unmet_authentication_requirements 1.0" §1).
            async with runtime.db.transaction() as session:
                await interactions.complete(session, interaction.id)
            error = OAuthError(OAuthErrorCode.UNMET_AUTHENTICATION_REQUIREMENTS,
                               "a pessoa nao confirmou a identidade no nivel pedido")
            return _redirect(
                authorization.error_redirect(
                runtime, areq.redirect_uri, error, areq.state, areq.issuer
            )
            )
        return _redirect(await _step_up_target(runtime, client, areq, interaction.id, current))
    if current is not None:
        held = await _held_new_app(runtime, current.account_id, client.id)
        if held is not None:
            return _error_page(request, held.message, status=held.status)
    form_action.allow(request, form_targets.of_redirect(client, areq.redirect_uri))
    return render(
        request,
        "oidc/consent.html",
        client=client,
        interaction_id=interaction.id,
        data=[label(s) for s in areq.scopes],
        prompted=decision.reason == "prompt_consent",
    )


async def _held_new_app(runtime: Runtime, account_id: str, client_id: str) -> GuaritaError | None:
    """The fraud guard holds connecting an app the person never consented to before
    (docs/fraud-guard.md); an app already connected may still be used and asked for more."""
    async with runtime.db.read() as session:
        hold = await guard.hold_of(session, account_id)
        if hold is None or await consent.granted_scopes(session, account_id, client_id):
            return None
    return guard.refusal(hold, runtime.settings, guard.NEW_APP)


async def _step_up_target(
    runtime: Runtime,
    client: Client,
    areq: AuthorizationRequest,
    interaction_id: str,
    current: SessionInfo,
) -> str:
    """"Para continuar, confirme sua identidade" (docs/trust-levels.md › Step-up): the way back
    is this interaction's resume address, kept with the ticket on the server."""
    resume = RESUME_PATH + "?" + urlencode({"interaction": interaction_id})
    ticket = await step_up.begin(
        runtime,
        current.account_id,
        acr.minimum(areq.acr_levels) or acr.LEVELS[-1],
        resume,
        cancel_to=resume + "&" + urlencode({"desistir": "1"}),
        app=client.name,
    )
    return step_up.page_url(ticket)


def _interaction_ttl(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.oidc.interaction_ttl_seconds)


async def _authorize(
    request: Request, pairs: list[tuple[str, str]], profile: Profile = STANDARD
) -> Response:
    """Both profiles' authorization endpoints (``oidc/profiles.py``)."""
    runtime = runtime_of(request)
    await load_session(request)
    v = authorization.start(runtime, pairs, profile)
    try:
        areq = await authorization.validate(v)
    except OAuthError as error:
        if error.redirectable and v.redirect_uri:
            return _redirect(
                authorization.error_redirect(
                    runtime, v.redirect_uri, error, v.state, v.profile.issuer(runtime)
                )
            )
        log.info("authorization_refused", error=str(error.code), detail=error.description)
        return _error_page(request, UNTRUSTED_CLIENT)
    return await _proceed(request, v.client, areq, None)


@router.get("/oauth/authorize")
async def authorize_get(request: Request) -> Response:
    """Core §3.1.2.1: GET and POST."""
    return await _authorize(request, list(request.query_params.multi_items()))


@router.post("/oauth/authorize")
async def authorize_post(request: Request) -> Response:
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a malformed body is the client's mistake
        return _error_page(request, UNTRUSTED_CLIENT)
    return await _authorize(request, [(k, v) for k, v in form.multi_items() if isinstance(v, str)])


async def _interaction(
    request: Request, interaction_id: str | None
) -> tuple[OidcInteraction, Client, AuthorizationRequest] | None:
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        found = await interactions.load(
            session, interaction_id, request.cookies.get(_browser_cookie(runtime))
        )
    if found is None:
        return None
    client = await clients.cached(runtime, found.client_id)
    if client is None or not client.active:
        return None
    return found, client, AuthorizationRequest.from_params(found.params)


@router.get(RESUME_PATH)
async def authorize_resume(request: Request) -> Response:
    """Back from the sign-in page: the session must now satisfy the request."""
    await load_session(request)
    found = await _interaction(request, request.query_params.get("interaction"))
    if found is None:
        return _error_page(request, EXPIRED_INTERACTION)
    interaction, client, areq = found
    return await _proceed(
        request, client, areq, interaction, gave_up=request.query_params.get("desistir") == "1"
    )


@router.post("/oauth/authorize/consent")
async def authorize_consent(request: Request) -> Response:
    """The consent page's answer (Core §3.1.2.4); ``deny`` ends with ``access_denied``."""
    runtime = runtime_of(request)
    await load_session(request)
    try:
        values = await forms.read(request)
    except GuaritaError as error:
        return _error_page(request, error.message, error.status)
    found = await _interaction(request, values.get("interaction"))
    if found is None:
        return _error_page(request, EXPIRED_INTERACTION)
    interaction, client, areq = found
    if values.get("decision") != "allow":
        async with runtime.db.transaction() as session:
            await interactions.complete(session, interaction.id)
        error = OAuthError(OAuthErrorCode.ACCESS_DENIED, "a pessoa nao autorizou")
        return _redirect(
            authorization.error_redirect(
                runtime, areq.redirect_uri, error, areq.state, areq.issuer
            )
        )
    return await _proceed(request, client, areq, interaction, consented=True)


# -- logout ------------------------------------------------------------------------------------
async def _logout(request: Request, values: dict[str, str], *, confirmed: bool) -> Response:
    runtime = runtime_of(request)
    current = await load_session(request)
    try:
        lreq = await end_session.validate(runtime, values)
    except end_session.LogoutError as error:
        return _error_page(request, str(error))
    if not confirmed and end_session.needs_confirmation(runtime, lreq, current):
        form_action.allow(request, form_targets.of_redirect(lreq.client, lreq.redirect()))
        return render(request, "oidc/logout.html", client=lreq.client, fields=lreq.hidden_fields())
    signed_out = await end_session.end(runtime, current, lreq, request_context(request))
    target = lreq.redirect()
    frames = frame_src.allow(request, signed_out.frontchannel)
    if target and not frames:
        response = _redirect(target)
    else:
        # Front-Channel Logout 1.0 §4: the apps' logout frames load here, then the page goes on
        # to post_logout_redirect_uri.
        response = render(request, "oidc/logged_out.html", client=lreq.client, frames=frames,
                          next_url=target)
    clear_session_cookie(response, runtime.settings)
    return response


@router.get("/oauth/logout")
async def logout_get(request: Request) -> Response:
    """RP-Initiated Logout 1.0 §2: GET and POST."""
    return await _logout(request, dict(request.query_params), confirmed=False)


@router.post("/oauth/logout")
async def logout_post(request: Request) -> Response:
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001
        return _error_page(request, UNTRUSTED_CLIENT)
    return await _logout(
        request, {k: v for k, v in form.items() if isinstance(v, str)}, confirmed=False
    )


@router.post("/oauth/logout/confirm")
async def logout_confirm(request: Request) -> Response:
    await load_session(request)
    try:
        values = await forms.read(request)
    except GuaritaError as error:
        return _error_page(request, error.message, error.status)
    if values.get("decision") != "logout":
        return _redirect("/conta")
    fields = {
        k: values[k] for k in ("client_id", "post_logout_redirect_uri", "state") if k in values
    }
    return await _logout(request, fields, confirmed=True)

