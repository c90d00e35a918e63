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
from guarita.edge import forms
from guarita.edge.auth import load_session, request_context, runtime_of
from guarita.edge.render import finish
from guarita.methods import upstream as upstream_method
from guarita.services import recovery, upstream_flow, upstream_recovery, upstreams
from guarita.web.recovery_pages import BASE, COOKIE, _go, _page, _restart, _token

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
    return _page(request, "recovery/bank.html", banks=banks)


@router.post(CHOOSER, response_class=HTMLResponse)
async def choose(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    try:
        url = await upstream_recovery.start(runtime_of(request), _token(request) or "",
                                            values.get("provider", ""), request_context(request))
    except GuaritaError as error:
        if error.code is ErrorCode.RECOVERY_EXPIRED:
            return _restart(request)
        return _page(request, "recovery/bank.html", error=error,
                     banks=(await _banks(request)) or [])
    response = RedirectResponse(url, status_code=303)
    finish(request, response)
    return response


def _failed(request: Request, error: GuaritaError, purpose: str | None) -> HTMLResponse:
    retry = other = None
    if purpose == upstream_recovery.PURPOSE:
        retry, other = CHOOSER, f"{BASE}/metodo"
        if error.code in (ErrorCode.RECOVERY_EXPIRED, ErrorCode.FLOW_STATE_INVALID,
                          ErrorCode.TOO_MANY_ATTEMPTS):
            retry, other = None, BASE
    elif purpose is None:
        other = BASE
    return _page(request, "upstream/failed.html", error=error, retry_url=retry, other_url=other)


def _to_app(return_uri: str, result: upstream_recovery.BankResult) -> RedirectResponse:
    joiner = "&" if urlsplit(return_uri).query else "?"
    query = urlencode({"recovery_id": result.recovery_id, "state": result.state})
    return RedirectResponse(f"{return_uri}{joiner}{query}", status_code=303)


@router.get(upstreams.CALLBACK_PATH, response_class=HTMLResponse)
async def callback(request: Request) -> Response:
    await load_session(request)
    runtime = runtime_of(request)
    params = {k: v[:2048] for k, v in request.query_params.items()}
    purpose = None
    try:
        trip = await upstream_flow.consume(runtime, params.get("state", ""))
        purpose = trip.purpose
        if purpose != upstream_recovery.PURPOSE:
            raise GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": "purpose_unknown"})
        result = await upstream_recovery.complete(runtime, trip, params,
                                                  request_context(request))
    except GuaritaError as error:
        return _failed(request, error, purpose)
    if result.return_uri:
        response = _to_app(result.return_uri, result)
        finish(request, response)
        return response
    target = "nova-senha" if result.state == "verified" else "segunda-etapa"
    return _go(request, f"{BASE}/{target}", token=result.recovery_id)


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
