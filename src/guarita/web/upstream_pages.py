"""Validação pelo banco as pages, and the provider-facing URLs (``docs/upstreams.md``).

- ``/esqueci-minha-senha/banco``: the banks as large buttons; a pick sends the browser to the
  bank (303 to its authorization URL);
- ``/upstream/callback``: where every provider sends the person back (the redirect URI given to
  the bank at registration). A recovery continues at "Crie sua nova senha" with the flow's new
  token in this browser's cookie, or in the app when its ``return_uri`` was registered; any
  failure ends in a plain page with the other ways forward;
- ``/upstream/<id>/jwks.json``: the public key of a ``private_key_jwt`` provider's pair;
- ``/upstream/<id>/logo``: the bank's logo shown on the buttons.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.upstreams import UpstreamKind
from guarita.edge import form_action, forms, trip_cookie
from guarita.edge.auth import (
    load_session,
    request_context,
    runtime_of,
    safe_next,
    set_session_cookie,
)
from guarita.edge.render import finish, render
from guarita.methods import upstream as upstream_method
from guarita.services import (
    recovery,
    step_up,
    upstream_account,
    upstream_flow,
    upstream_links,
    upstream_recovery,
    upstream_sign_in,
    upstreams,
)
from guarita.web.recovery_pages import BASE, COOKIE, _go, _page, _restart, _token
from guarita.web.second_step_pages import set_pending

router = APIRouter(include_in_schema=False)
CHOOSER = f"{BASE}/banco"


async def _banks(request: Request) -> list[dict] | None:
    try:
        status = await recovery.status(runtime_of(request), _token(request) or "")
    except GuaritaError:
        return None
    if status.state not in ("choose_method", "code_sent"):
        return None
    bank = next((m for m in status.methods if m.id == upstream_method.BANK.id), None)
    return bank.providers if bank is not None else []


@router.get(CHOOSER, response_class=HTMLResponse)
async def chooser(request: Request) -> Response:
    await load_session(request)
    banks = await _banks(request)
    if banks is None:
        return _restart(request)
    form_action.allow(request, await upstreams.origins(runtime_of(request), UpstreamKind.BANK))
    return _page(request, "recovery/bank.html", banks=banks)


@router.post(CHOOSER, response_class=HTMLResponse)
async def choose(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    browser = trip_cookie.new_secret()
    try:
        url = await upstream_recovery.start(runtime_of(request), _token(request) or "",
                                            values.get("provider", ""), request_context(request),
                                            browser=browser)
    except GuaritaError as error:
        if error.code is ErrorCode.RECOVERY_EXPIRED:
            return _restart(request)
        return _page(request, "recovery/bank.html", error=error,
                     banks=(await _banks(request)) or [])
    response = RedirectResponse(url, status_code=303)
    trip_cookie.attach(response, runtime_of(request).settings, browser)
    finish(request, response)
    return response


def _failed(request: Request, error: GuaritaError, purpose: str | None,
            step_up_ticket: str = "") -> HTMLResponse:
    retry = other = None
    if purpose == upstream_recovery.PURPOSE:
        retry, other = CHOOSER, f"{BASE}/metodo"
        if error.code in (ErrorCode.RECOVERY_EXPIRED, ErrorCode.FLOW_STATE_INVALID,
                          ErrorCode.TOO_MANY_ATTEMPTS):
            retry, other = None, BASE
    elif purpose == upstream_account.PURPOSE and step_up_ticket:
        retry = other = step_up.page_url(step_up_ticket)
    elif purpose == upstream_account.PURPOSE:
        retry, other = ACCOUNT, "/conta"
    elif purpose == upstream_sign_in.PURPOSE:
        other = "/entrar"
    elif purpose is None:
        other = BASE
    return _page(request, "upstream/failed.html", error=error, retry_url=retry, other_url=other)


def _to_app(return_uri: str, result: upstream_recovery.BankResult) -> RedirectResponse:
    joiner = "&" if urlsplit(return_uri).query else "?"
    query = urlencode({"recovery_id": result.recovery_id, "state": result.state})
    return RedirectResponse(f"{return_uri}{joiner}{query}", status_code=303)


@router.get(upstreams.CALLBACK_PATH, response_class=HTMLResponse)
async def callback(request: Request) -> Response:
    current = await load_session(request)
    runtime = runtime_of(request)
    params = {k: v[:2048] for k, v in request.query_params.items()}
    purpose = None
    try:
        trip = await upstream_flow.consume(runtime, params.get("state", ""))
        purpose = trip.purpose
        if purpose == upstream_account.PURPOSE:
            ticket = str(trip.data.get("step_up") or "")
            await upstream_account.complete(runtime, trip, params,
                                            current.account_id if current else None,
                                            request_context(request))
            # Back to "Para continuar, confirme sua identidade" when the trip started there: it
            # reads the level again and returns to the service, or says it is still too low.
            target = (step_up.page_url(ticket, after=True) if ticket
                      else f"{ACCOUNT}?validado=1")
            response = RedirectResponse(target, status_code=303)
            finish(request, response)
            return response
        if purpose == upstream_sign_in.PURPOSE:
            answer = _govbr_answer(request, await upstream_sign_in.complete(
                runtime, trip, params, request_context(request),
                browser=trip_cookie.of(request)))
            trip_cookie.clear(answer)
            return answer
        if purpose != upstream_recovery.PURPOSE:
            raise GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": "purpose_unknown"})
        result = await upstream_recovery.complete(runtime, trip, params,
                                                  request_context(request),
                                                  browser=trip_cookie.of(request))
    except GuaritaError as error:
        ticket = str(trip.data.get("step_up") or "") if purpose is not None else ""
        return _failed(request, error, purpose, step_up_ticket=ticket)
    if result.return_uri:
        response = _to_app(result.return_uri, result)
        finish(request, response)
        return response
    target = "nova-senha" if result.state == "verified" else "segunda-etapa"
    response = _go(request, f"{BASE}/{target}", token=result.recovery_id)
    trip_cookie.clear(response)
    return response


# -- Entrar com gov.br --------------------------------------------------------------------------
GOVBR = "/entrar/govbr"
CONFIRM_COOKIE = "guarita_govbr_link"


def _redirect(request: Request, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    finish(request, response)
    return response


def _govbr_answer(request: Request, result: upstream_sign_in.GovbrResult) -> Response:
    settings = runtime_of(request).settings
    target = safe_next(result.next_url, "/conta")
    if result.kind in ("session", "created"):
        response = _redirect(request, target if result.kind == "session" else
                             safe_next(result.next_url, "/conta?bem-vindo=1"))
        set_session_cookie(response, settings, result.session_token or "")
        return response
    if result.kind == "pending":
        response = _redirect(request, "/entrar/confirmar")
        set_pending(request, response, result.pending_id or "")
        return response
    if result.kind == "confirm":
        response = _redirect(request, f"{GOVBR}/vincular")
        response.set_cookie(CONFIRM_COOKIE, result.confirmation or "", httponly=True,
                            samesite="lax", secure=settings.secure_cookies, path=GOVBR,
                            max_age=upstream_sign_in.CONFIRM_MINUTES * 60)
        return response
    return render(request, "upstream/govbr_register.html")


@router.post(GOVBR, response_class=HTMLResponse)
async def govbr_start(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    browser = trip_cookie.new_secret()
    try:
        url = await upstream_sign_in.start(runtime_of(request), values.get("provider", ""),
                                           safe_next(values.get("next"), ""),
                                           request_context(request), browser=browser)
    except GuaritaError as error:
        return _failed(request, error, upstream_sign_in.PURPOSE)
    response = _redirect(request, url)
    trip_cookie.attach(response, runtime_of(request).settings, browser)
    return response


@router.get(f"{GOVBR}/vincular", response_class=HTMLResponse)
async def govbr_confirm_form(request: Request) -> Response:
    await load_session(request)
    if not request.cookies.get(CONFIRM_COOKIE):
        return _redirect(request, "/entrar")
    return render(request, "upstream/govbr_confirm.html", errors={}, error=None)


@router.post(f"{GOVBR}/vincular", response_class=HTMLResponse)
async def govbr_confirm(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    runtime = runtime_of(request)
    try:
        result, next_url = await upstream_sign_in.confirm_link(
            runtime, request.cookies.get(CONFIRM_COOKIE, ""), values.get("password", ""),
            request_context(request))
    except GuaritaError as error:
        if error.code is ErrorCode.FLOW_EXPIRED:
            return _redirect(request, "/entrar?expirou=1")
        return render(request, "upstream/govbr_confirm.html", status_code=error.status,
                      errors=forms.field_errors(error), error=error)
    if result.pending is not None:
        response = _redirect(request, "/entrar/confirmar")
        set_pending(request, response, result.pending.pending_id)
    else:
        response = _redirect(request, safe_next(next_url, "/conta"))
        set_session_cookie(response, runtime.settings, result.session_token)
    response.delete_cookie(CONFIRM_COOKIE, path=GOVBR, secure=runtime.settings.secure_cookies,
                           httponly=True, samesite="lax")
    return response


# -- Minha conta › Bancos e gov.br -------------------------------------------------------------
ACCOUNT = "/conta/bancos"


def _to_sign_in(request: Request) -> RedirectResponse:
    response = RedirectResponse(f"/entrar?next={ACCOUNT}", status_code=303)
    finish(request, response)
    return response


async def _account_page(request: Request, account_id: str,
                        error: GuaritaError | None = None) -> HTMLResponse:
    runtime = runtime_of(request)
    found = await upstream_account.overview(runtime, account_id)
    form_action.allow(request, await upstreams.origins(runtime, UpstreamKind.BANK))
    return render(request, "upstream/account.html", status_code=error.status if error else 200,
                  error=error, banks=found.banks, links=found.links,
                  validated="validado" in request.query_params,
                  unlinked="desvinculado" in request.query_params,
                  local_time=runtime.settings.local_time)


@router.get(ACCOUNT, response_class=HTMLResponse)
async def account_banks(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _to_sign_in(request)
    return await _account_page(request, current.account_id)


@router.post(f"{ACCOUNT}/validar", response_class=HTMLResponse)
async def validate_with_bank(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _to_sign_in(request)
    values = await forms.read(request)
    try:
        url = await upstream_account.start(runtime_of(request), current.account_id,
                                           values.get("provider", ""), request_context(request))
    except GuaritaError as error:
        return await _account_page(request, current.account_id, error)
    response = RedirectResponse(url, status_code=303)
    finish(request, response)
    return response


@router.post(ACCOUNT + "/{link_id}/desvincular", response_class=HTMLResponse)
async def unlink(link_id: int, request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _to_sign_in(request)
    await forms.read(request)
    await upstream_links.unlink(runtime_of(request), current.account_id, link_id,
                                request_context(request))
    response = RedirectResponse(f"{ACCOUNT}?desvinculado=1", status_code=303)
    finish(request, response)
    return response


@router.get("/upstream/{provider_id}/jwks.json")
async def jwks(provider_id: str, request: Request) -> Response:
    found = await upstreams.public_jwks(runtime_of(request), provider_id)
    if found is None:
        return JSONResponse({"error": {"code": "not_found", "message": "Provedor sem chave.",
                                       "field": None}}, status_code=404)
    return JSONResponse(found, headers={"Cache-Control": "public, max-age=300"},
                        media_type="application/jwk-set+json")


@router.get("/upstream/{provider_id}/logo")
async def logo(provider_id: str, request: Request) -> Response:
    found = await upstreams.logo(runtime_of(request), provider_id)
    if found is None:
        return Response(status_code=404)
    data, media_type = found
    return Response(data, media_type=media_type, headers={
        "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


__all__ = ["router", "COOKIE"]
