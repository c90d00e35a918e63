"""Confirme que é você (the sign-in's second step, and the step-up a portal asks for with
``acr_values=urn:guarita:mfa``) and Entrar com chave de acesso, as pages. Thin: the services
decide (docs/two-step.md).

The pending sign-in's id travels in an HttpOnly cookie that lives as long as the pending flow
(5 minutes), never in the URL.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.edge import form_action, forms
from guarita.edge.auth import (
    load_session,
    request_context,
    runtime_of,
    safe_next,
    set_session_cookie,
)
from guarita.edge.render import finish, render
from guarita.methods import registry
from guarita.services import passkey_sign_in, second_step

router = APIRouter(include_in_schema=False)

PENDING_COOKIE = "guarita_pending"


def pending_cookie(request: Request) -> str:
    settings = runtime_of(request).settings
    return f"__Host-{PENDING_COOKIE}" if settings.secure_cookies else PENDING_COOKIE


def set_pending(request: Request, response: Response, pending_id: str) -> None:
    settings = runtime_of(request).settings
    response.set_cookie(
        pending_cookie(request),
        pending_id,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
        max_age=settings.mfa.pending_minutes * 60,
    )


def _clear_pending(request: Request, response: Response) -> None:
    settings = runtime_of(request).settings
    response.delete_cookie(
        pending_cookie(request),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def _redirect(request: Request, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    finish(request, response)
    return response


def _json_error(error: GuaritaError) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": error.code.value, "message": error.message, "field": error.field}},
        status_code=error.status,
    )


# -- Confirme que é você ----------------------------------------------------------------------
async def _page(
    request: Request,
    *,
    method_id: str | None = None,
    error: GuaritaError | None = None,
    status_code: int = 200,
) -> Response:
    runtime = runtime_of(request)
    pending_id = request.cookies.get(pending_cookie(request), "")
    try:
        flow, options = await second_step.load(runtime, pending_id)
    except GuaritaError as expired:
        response = _redirect(request, "/entrar?expirou=1")
        _clear_pending(request, response)
        if expired.code not in (ErrorCode.SECOND_STEP_EXPIRED, ErrorCode.FLOW_STATE_INVALID):
            raise
        return response
    # Its form's answer goes on to the flow it resumes: the sign-in's first step or a
    # portal's step-up both park the resume path in the pending flow.
    await form_action.allow_flow_redirect(request, flow.data.get("next"))
    chosen = next((o for o in options if o.id == method_id), options[0] if options else None)
    step = None
    sent = False
    if chosen is not None and chosen.id not in ("passkey", "email", "sms"):
        step = await second_step.start_method(
            runtime, pending_id, chosen.id, request_context(request)
        )
    elif chosen is not None and chosen.id in ("email", "sms"):
        sent = flow.method == chosen.id
        step = registry.METHODS[chosen.id].step() if sent else None
    return render(
        request,
        "second_step.html",
        status_code=status_code,
        options=options,
        chosen=chosen,
        step=step,
        sent=sent,
        error=error,
        errors=forms.field_errors(error) if error else {},
        step_up=bool(flow.data.get("replaces")),
    )


@router.get("/entrar/confirmar", response_class=HTMLResponse)
async def second_step_page(request: Request) -> Response:
    await load_session(request)
    return await _page(request, method_id=request.query_params.get("metodo"))


@router.post("/entrar/confirmar", response_class=HTMLResponse)
async def second_step_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    runtime = runtime_of(request)
    method_id = values.get("method", "")
    pending_id = request.cookies.get(pending_cookie(request), "")
    try:
        if values.get("send") and method_id in ("email", "sms"):
            await second_step.start_method(runtime, pending_id, method_id, request_context(request))
            return _redirect(request, f"/entrar/confirmar?metodo={method_id}")
        done = await second_step.verify(
            runtime,
            pending_id,
            method_id,
            {"code": values.get("code", ""), "credential": values.get("credential", "")},
            request_context(request),
        )
    except GuaritaError as error:
        if error.code == ErrorCode.SECOND_STEP_EXPIRED:
            response = _redirect(request, "/entrar?expirou=1")
            _clear_pending(request, response)
            return response
        return await _page(request, method_id=method_id, error=error, status_code=error.status)
    response = _redirect(request, safe_next(done.next or request.query_params.get("next")))
    _clear_pending(request, response)
    set_session_cookie(response, runtime.settings, done.session_token)
    return response


@router.post("/entrar/confirmar/opcoes")
async def second_step_passkey_options(request: Request) -> Response:
    """The WebAuthn request options for the pending sign-in (fetched by static/js/passkeys.js)."""
    await load_session(request)
    try:
        await forms.read(request)
        step = await second_step.start_method(
            runtime_of(request),
            request.cookies.get(pending_cookie(request), ""),
            "passkey",
            request_context(request),
        )
    except GuaritaError as error:
        return _json_error(error)
    return JSONResponse({"publicKey": step.challenge})


@router.get("/entrar/mais-seguranca", response_class=HTMLResponse)
async def step_up(request: Request) -> Response:
    """A portal asked for a second factor (``acr_values=urn:guarita:mfa``): prove one now, or
    enrol one when the person has none, then continue."""
    current = await load_session(request)
    target = safe_next(request.query_params.get("next"))
    if current is None:
        return _redirect(request, "/entrar?next=" + target)
    return render(request, "step_up.html", next=target)


@router.post("/entrar/mais-seguranca", response_class=HTMLResponse)
async def step_up_start(request: Request) -> Response:
    current = await load_session(request)
    values = await forms.read(request)
    target = safe_next(values.get("next"))
    if current is None:
        return _redirect(request, "/entrar?next=" + target)
    pending = await second_step.step_up(
        runtime_of(request), current, request_context(request), next_url=target
    )
    if pending is None:
        return _redirect(request, "/conta/seguranca?pedido=1&next=" + quote(target, safe=""))
    response = _redirect(request, "/entrar/confirmar")
    set_pending(request, response, pending.pending_id)
    return response


# -- Entrar com chave de acesso ---------------------------------------------------------------
@router.post("/entrar/chave/opcoes")
async def passkey_options(request: Request) -> Response:
    await load_session(request)
    try:
        await forms.read(request)
        options = await passkey_sign_in.options(runtime_of(request), request_context(request))
    except GuaritaError as error:
        return _json_error(error)
    return JSONResponse({"publicKey": options})


@router.post("/entrar/chave", response_class=HTMLResponse)
async def passkey_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    runtime = runtime_of(request)
    try:
        done = await passkey_sign_in.sign_in(
            runtime, values.get("credential", ""), request_context(request)
        )
    except GuaritaError as error:
        return render(
            request,
            "entrar.html",
            status_code=error.status,
            values={},
            next=values.get("next", ""),
            errors={},
            error=error,
        )
    response = _redirect(request, safe_next(values.get("next")))
    set_session_cookie(response, runtime.settings, done.session_token)
    return response
