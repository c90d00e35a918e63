"""Adding or replacing an e-mail or phone on /conta (docs/recovery.md › Contacts): password again, then a code."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.edge import forms
from guarita.edge.auth import load_session, request_context, runtime_of
from guarita.edge.render import finish, render
from guarita.services import contacts, guard, step_up
from guarita.services.reauthentication import confirm_password

router = APIRouter(include_in_schema=False)

BASE = "/conta/contato"
COOKIE = "guarita_contact"


def _go(request: Request, target: str, token: str | None = None, clear: bool = False) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    settings = runtime_of(request).settings
    if token:
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                            path=BASE, max_age=contacts.FLOW_MINUTES * 60)
    if clear:
        response.delete_cookie(COOKIE, path=BASE, secure=settings.secure_cookies, httponly=True, samesite="lax")
    finish(request, response)
    return response


def _kind(request: Request, values: dict | None = None) -> str:
    kind = (values or {}).get("kind") or request.query_params.get("tipo", "email")
    return "phone" if kind in ("phone", "celular") else "email"


async def _confirm_identity_first(request: Request, account_id: str, kind: str) -> Response:
    """"Para continuar, confirme sua identidade": a fresh proof, then back to this form
    (docs/trust-levels.md › Step-up, ``GUARITA_STEP_UP__ACTIONS``)."""
    back = f"{BASE}?tipo={'celular' if kind == 'phone' else 'email'}"
    ticket = await step_up.begin_for_action(runtime_of(request), account_id,
                                            step_up.CONTACT_CHANGE, back)
    return _go(request, step_up.page_url(ticket))


@router.get(BASE, response_class=HTMLResponse)
async def contact_form(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _go(request, f"/entrar?next={BASE}")
    try:
        # The fraud guard's hold says so before the form is even filled (docs/fraud-guard.md).
        await guard.require_no_hold(runtime_of(request), current.account_id, guard.CONTACT_CHANGE)
    except GuaritaError as error:
        return render(request, "error.html", status_code=error.status, error=error)
    try:
        await step_up.check_action(runtime_of(request), current.account_id, step_up.CONTACT_CHANGE)
    except GuaritaError as error:
        if error.code is ErrorCode.STEP_UP_REQUIRED:
            return await _confirm_identity_first(request, current.account_id, _kind(request))
        raise
    return render(request, "contact/start.html", kind=_kind(request), values={}, errors={}, error=None)


@router.post(BASE, response_class=HTMLResponse)
async def contact_submit(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _go(request, f"/entrar?next={BASE}")
    values = await forms.read(request)
    runtime = runtime_of(request)
    context = request_context(request)
    kind = _kind(request, values)
    try:
        await confirm_password(runtime, current, values.get("password", ""), context)
        started = await contacts.start_verification(runtime, current.account_id, kind,
                                                    values.get("value", ""), source="self", context=context)
    except GuaritaError as error:
        if error.code is ErrorCode.STEP_UP_REQUIRED:
            return await _confirm_identity_first(request, current.account_id, kind)
        if error.field == "value" or error.code in (ErrorCode.INVALID_EMAIL, ErrorCode.INVALID_PHONE):
            error.field = "value"
        return render(request, "contact/start.html", status_code=error.status, kind=kind,
                      values={"value": values.get("value", "")}, errors=forms.field_errors(error), error=error)
    return _go(request, f"{BASE}/codigo?para={started.destination}", token=started.id)


@router.get(f"{BASE}/codigo", response_class=HTMLResponse)
async def code_form(request: Request) -> Response:
    if await load_session(request) is None:
        return _go(request, f"/entrar?next={BASE}")
    return render(request, "contact/code.html", destination=request.query_params.get("para", "")[:80],
                  errors={}, error=None)


@router.post(f"{BASE}/codigo", response_class=HTMLResponse)
async def code_submit(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _go(request, f"/entrar?next={BASE}")
    values = await forms.read(request)
    try:
        saved = await contacts.confirm_verification(
            runtime_of(request), request.cookies.get(COOKIE, ""), values.get("code", ""),
            request_context(request), account_id=current.account_id)
    except GuaritaError as error:
        if error.code is ErrorCode.FLOW_EXPIRED:
            return _go(request, f"{BASE}?expirou=1", clear=True)
        return render(request, "contact/code.html", status_code=error.status,
                      destination=request.query_params.get("para", "")[:80],
                      errors=forms.field_errors(error), error=error)
    return _go(request, f"/conta?contato-confirmado={saved.kind}", clear=True)


# -- the link in the code message -------------------------------------------------------------
@router.get("/confirmar-contato", response_class=HTMLResponse)
async def confirm_link(request: Request) -> Response:
    """Works without signing in: whoever holds the message holds the contact."""
    await load_session(request)
    return render(request, "contact/confirm_link.html", token=request.query_params.get("id", "")[:128],
                  code=request.query_params.get("codigo", "")[:12], done=False, error=None, errors={})


@router.post("/confirmar-contato", response_class=HTMLResponse)
async def confirm_link_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    try:
        await contacts.confirm_verification(runtime_of(request), values.get("token", ""),
                                            values.get("code", ""), request_context(request))
    except GuaritaError as error:
        return render(request, "contact/confirm_link.html", status_code=error.status, token="", code="",
                      done=False, error=error, errors={})
    return render(request, "contact/confirm_link.html", token="", code="", done=True, error=None, errors={})
