"""Esqueci minha senha as pages, one step per page with a back link (docs/recovery.md › Esqueci minha senha).

The flow token lives in an HttpOnly cookie scoped to the recovery pages, never in a URL a
person could share by accident (the "continue" link of the code message is the one exception,
and it only opens the code step).
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.edge import forms
from guarita.edge.auth import load_session, request_context, runtime_of
from guarita.edge.render import finish, render
from guarita.methods import captcha, kba, registry
from guarita.methods.contact_code import ContactCodeMethod
from guarita.services import recovery, recovery_kba
from guarita.web.account_pages import remember_recovered

router = APIRouter(include_in_schema=False)

BASE = "/esqueci-minha-senha"
COOKIE = "guarita_recovery"
# What this browser typed at the start, kept (HttpOnly, recovery pages only) so that the sign-in
# page after "Concluir" can be filled in; a flow continued from the message's link in another
# browser has none, and its sign-in page starts empty.
TYPED = "guarita_recovery_typed"


def _token(request: Request) -> str | None:
    return request.cookies.get(COOKIE)


def _go(request: Request, target: str, token: str | None = None, clear: bool = False,
        typed: str | None = None) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    settings = runtime_of(request).settings
    if token:
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                            path=BASE, max_age=settings.recovery.flow_minutes * 60)
    if typed:
        response.set_cookie(TYPED, quote(typed.strip()[:254], safe=""), httponly=True,
                            samesite="lax", secure=settings.secure_cookies, path=BASE,
                            max_age=settings.recovery.flow_minutes * 60)
    if clear:
        response.delete_cookie(COOKIE, path=BASE, secure=settings.secure_cookies, httponly=True, samesite="lax")
        remembered = request.cookies.get(TYPED)
        if remembered:
            response.delete_cookie(TYPED, path=BASE, secure=settings.secure_cookies,
                                   httponly=True, samesite="lax")
            if target.endswith("/concluido"):
                remember_recovered(response, request, unquote(remembered))
    finish(request, response)
    return response


def _page(request: Request, template: str, *, error: GuaritaError | None = None, **context) -> HTMLResponse:  # noqa: ANN003
    errors = forms.field_errors(error) if error else {}
    return render(request, template, status_code=error.status if error else 200, error=error,
                  errors=errors, **context)


def _other_ways(status) -> list[tuple[str, str]]:  # noqa: ANN001
    """Ways of the flow that need no code (facial or bank validation, when offered), for the
    "o código não chega" box of the code page."""
    return [(option.label, f"{BASE}/metodo") for option in (status.methods if status else [])
            if not isinstance(registry.METHODS.get(option.id), ContactCodeMethod)]


async def _status_or_restart(request: Request):  # noqa: ANN202
    try:
        return await recovery.status(runtime_of(request), _token(request) or "")
    except GuaritaError:
        return None


def _restart(request: Request) -> RedirectResponse:
    return _go(request, f"{BASE}?expirou=1", clear=True)


# -- 1. identifier and captcha ----------------------------------------------------------------
@router.get(BASE, response_class=HTMLResponse)
async def identifier_form(request: Request) -> Response:
    await load_session(request)
    return _page(request, "recovery/identifier.html", values={},
                 expired="expirou" in request.query_params)


@router.post(BASE, response_class=HTMLResponse)
async def identifier_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    try:
        runtime = runtime_of(request)
        started = await recovery.start(runtime, values.get("identifier", ""),
                                       captcha.response_from_form(runtime.settings, values),
                                       request_context(request))
    except GuaritaError as error:
        return _page(request, "recovery/identifier.html", error=error,
                     values={"identifier": values.get("identifier", "")}, expired=False)
    return _go(request, f"{BASE}/metodo", token=started.recovery_id,
               typed=values.get("identifier", ""))


# -- 2. method --------------------------------------------------------------------------------
@router.get(f"{BASE}/metodo", response_class=HTMLResponse)
async def method_form(request: Request) -> Response:
    await load_session(request)
    status = await _status_or_restart(request)
    if status is None:
        return _restart(request)
    return _page(request, "recovery/method.html", methods=status.methods)


@router.post(f"{BASE}/metodo", response_class=HTMLResponse)
async def method_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    runtime = runtime_of(request)
    if values.get("method") == "face" and "face" in runtime.settings.recovery.methods:
        return _go(request, f"{BASE}/rosto")
    if values.get("method") == "bank":
        return _go(request, f"{BASE}/banco")
    try:
        await recovery.request_code(runtime, _token(request) or "", values.get("method", ""),
                                    request_context(request))
    except GuaritaError as error:
        if error.code is ErrorCode.RECOVERY_EXPIRED:
            return _restart(request)
        status = await _status_or_restart(request)
        return _page(request, "recovery/method.html", error=error,
                     methods=(status.methods if status else []))
    return _go(request, f"{BASE}/codigo")


# -- 3. code ----------------------------------------------------------------------------------
@router.get(f"{BASE}/codigo", response_class=HTMLResponse)
async def code_form(request: Request) -> Response:
    await load_session(request)
    status = await _status_or_restart(request)
    if status is None:
        return _restart(request)
    return _page(request, "recovery/code.html", status=status, step=recovery.code_step(status),
                 resent="reenviado" in request.query_params,
                 kba="dados" in request.query_params, others=_other_ways(status))


@router.post(f"{BASE}/codigo", response_class=HTMLResponse)
async def code_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    runtime = runtime_of(request)
    try:
        status = await recovery.submit_code(runtime, _token(request) or "", values.get("code", ""),
                                            request_context(request))
    except GuaritaError as error:
        if error.code is ErrorCode.RECOVERY_EXPIRED:
            return _restart(request)
        status = await _status_or_restart(request)
        return _page(request, "recovery/code.html", error=error, status=status,
                     step=recovery.code_step(status), resent=False, kba=False)
    if status.state == "second_factor":
        return _go(request, f"{BASE}/segunda-etapa", token=status.recovery_id)
    return _go(request, f"{BASE}/nova-senha", token=status.recovery_id)


# -- 3b. the second factor, when the account has one (docs/two-step.md) -----------------------
async def _second_factor_page(request: Request, method_id: str | None,
                              error: GuaritaError | None = None) -> Response:
    runtime = runtime_of(request)
    try:
        _, options = await recovery.second_factor_options(runtime, _token(request) or "")
    except GuaritaError:
        return _restart(request)
    chosen = next((o for o in options if o.id == method_id), options[0] if options else None)
    step = None
    if chosen is not None and chosen.id in ("totp", "recovery_code"):
        step = await recovery.start_second_factor(runtime, _token(request) or "", chosen.id,
                                                  request_context(request))
    return _page(request, "recovery/second_factor.html", error=error, options=options,
                 chosen=chosen, step=step)


@router.get(f"{BASE}/segunda-etapa", response_class=HTMLResponse)
async def second_factor_form(request: Request) -> Response:
    await load_session(request)
    return await _second_factor_page(request, request.query_params.get("metodo"))


@router.post(f"{BASE}/segunda-etapa/opcoes")
async def second_factor_passkey_options(request: Request) -> Response:
    await load_session(request)
    try:
        await forms.read(request)
        step = await recovery.start_second_factor(runtime_of(request), _token(request) or "",
                                                  "passkey", request_context(request))
    except GuaritaError as error:
        return JSONResponse({"error": {"code": error.code.value, "message": error.message,
                                       "field": error.field}}, status_code=error.status)
    return JSONResponse({"publicKey": step.challenge})


@router.post(f"{BASE}/segunda-etapa", response_class=HTMLResponse)
async def second_factor_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    method_id = values.get("method", "")
    try:
        await recovery.submit_second_factor(
            runtime_of(request), _token(request) or "", method_id,
            {"code": values.get("code", ""), "credential": values.get("credential", "")},
            request_context(request))
    except GuaritaError as error:
        if error.code in (ErrorCode.RECOVERY_EXPIRED, ErrorCode.FLOW_STATE_INVALID):
            return _restart(request)
        return await _second_factor_page(request, method_id, error)
    return _go(request, f"{BASE}/nova-senha")


@router.post(f"{BASE}/codigo/reenviar", response_class=HTMLResponse)
async def code_resend(request: Request) -> Response:
    await load_session(request)
    await forms.read(request)
    runtime = runtime_of(request)
    status = await _status_or_restart(request)
    if status is None:
        return _restart(request)
    try:
        await recovery.request_code(runtime, _token(request), status.method or "email",
                                    request_context(request))
    except GuaritaError as error:
        status = await _status_or_restart(request)
        return _page(request, "recovery/code.html", error=error, status=status,
                     step=recovery.code_step(status), resent=False, kba=False)
    return _go(request, f"{BASE}/codigo?reenviado=1")


@router.get(f"{BASE}/continuar")
async def continue_from_message(request: Request) -> Response:
    """The link in the code message: puts the flow back in this browser, then the code page."""
    token = request.query_params.get("id", "")[:128]
    return _go(request, f"{BASE}/codigo", token=token or None)


# -- 4. new password --------------------------------------------------------------------------
@router.get(f"{BASE}/nova-senha", response_class=HTMLResponse)
async def password_form(request: Request) -> Response:
    await load_session(request)
    status = await _status_or_restart(request)
    if status is None or status.state != "verified":
        return _restart(request)
    return _page(request, "recovery/password.html")


@router.post(f"{BASE}/nova-senha", response_class=HTMLResponse)
async def password_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    try:
        await recovery.set_password(runtime_of(request), _token(request) or "", values.get("password", ""),
                                    values.get("password_confirmation", ""), request_context(request))
    except GuaritaError as error:
        if error.code in (ErrorCode.RECOVERY_EXPIRED, ErrorCode.FLOW_STATE_INVALID):
            return _restart(request)
        return _page(request, "recovery/password.html", error=error)
    return _go(request, f"{BASE}/concluido", clear=True)


# -- 5. confirmation --------------------------------------------------------------------------
@router.get(f"{BASE}/concluido", response_class=HTMLResponse)
async def done(request: Request) -> Response:
    await load_session(request)
    return _page(request, "recovery/done.html")


# -- the health-plan data form ----------------------------------------------------------------
@router.get(f"{BASE}/dados", response_class=HTMLResponse)
async def kba_form(request: Request) -> Response:
    await load_session(request)
    runtime = runtime_of(request)
    return _page(request, "recovery/kba.html", values={},
                 step=await recovery_kba.form_step(runtime, request_context(request)))


@router.post(f"{BASE}/dados", response_class=HTMLResponse)
async def kba_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    runtime = runtime_of(request)
    try:
        started = await recovery_kba.start(runtime, recovery_kba.KbaInput(
            identifier=values.get("identifier", ""), cpf=values.get("cpf", ""),
            no_cpf=kba.ticked(values.get("no_cpf")), birth_date=values.get("birth_date", ""),
            captcha=captcha.response_from_form(runtime.settings, values),
            password=values.get("password"), password_confirmation=values.get("password_confirmation"),
        ), request_context(request))
    except GuaritaError as error:
        kept = {k: values.get(k, "") for k in ("identifier", "cpf", "no_cpf", "birth_date")}
        return _page(request, "recovery/kba.html", error=error, values=kept,
                     step=await recovery_kba.form_step(runtime, request_context(request)))
    typed = values.get("identifier", "")
    if runtime.settings.recovery.kba_only:
        response = _go(request, f"{BASE}/concluido", clear=True)
        remember_recovered(response, request, typed)
        return response
    return _go(request, f"{BASE}/codigo?dados=1", token=started.recovery_id, typed=typed)


# -- "Não foi você?" --------------------------------------------------------------------------
@router.get("/nao-fui-eu", response_class=HTMLResponse)
async def not_me(request: Request) -> Response:
    await load_session(request)
    token = request.query_params.get("token", "")[:128]
    valid = await recovery.lock_link_valid(runtime_of(request), token)
    return _page(request, "recovery/not_me.html", token=token, valid=valid, locked=False)


@router.post("/nao-fui-eu", response_class=HTMLResponse)
async def not_me_confirm(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    try:
        await recovery.lock_by_owner(runtime_of(request), values.get("token", ""), request_context(request))
    except GuaritaError:
        return _page(request, "recovery/not_me.html", token="", valid=False, locked=False)
    return _page(request, "recovery/not_me.html", token="", valid=False, locked=True)
