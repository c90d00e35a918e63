"""Segurança da conta, in Minha conta: the authenticator app, passkeys and recovery codes as
pages (docs/two-step.md). Thin: ``services/second_factors.py`` decides.

Changes need a sign-in or a password confirmation in the last 5 minutes; when that is missing
the page asks for the password first (``/conta/seguranca/confirmar``). Recovery codes are shown
once, on the answer to the request that made them, with a print button and a download link.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.flows import FlowKind
from guarita.edge import forms
from guarita.edge.auth import load_session, request_context, runtime_of, safe_next
from guarita.edge.render import finish, render
from guarita.methods import totp
from guarita.services import flows, passkeys, second_factors
from guarita.services.reauthentication import confirm_password

router = APIRouter(include_in_schema=False)
PAGE = "/conta/seguranca"


def _redirect(request: Request, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    finish(request, response)
    return response


def _signed_out(request: Request) -> RedirectResponse:
    return _redirect(request, "/entrar?next=" + PAGE)


async def _security(
    request: Request, *, error: GuaritaError | None = None, status_code: int = 200, **extra: object
) -> Response:
    runtime = runtime_of(request)
    current = request.state.session
    summary = await second_factors.summary(runtime, current.account_id, current)
    target = request.query_params.get("next") or extra.pop("next", None)
    return render(
        request,
        "security.html",
        status_code=status_code,
        summary=summary,
        error=error,
        errors=forms.field_errors(error) if error else {},
        next=safe_next(target, "") if target else "",
        requested=bool(request.query_params.get("pedido")),
        notice=extra.pop("notice", request.query_params.get("feito")),
        **extra,
    )


@router.get(PAGE, response_class=HTMLResponse)
async def security_page(request: Request) -> Response:
    if await load_session(request) is None:
        return _signed_out(request)
    return await _security(request)


@router.post(PAGE + "/confirmar", response_class=HTMLResponse)
async def confirm(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _signed_out(request)
    values = await forms.read(request)
    try:
        await confirm_password(
            runtime_of(request), current, values.get("password", ""), request_context(request)
        )
    except GuaritaError as error:
        return await _security(
            request, error=error, status_code=error.status, next=values.get("next")
        )
    target = safe_next(values.get("next"), "")
    return _redirect(request, PAGE + (f"?next={quote(target, safe='')}" if target else ""))


def _done(request: Request, what: str, next_url: str | None = None) -> RedirectResponse:
    target = safe_next(next_url, "")
    return _redirect(
        request, f"{PAGE}?feito={what}" + (f"&next={quote(target, safe='')}" if target else "")
    )


# -- the authenticator app --------------------------------------------------------------------
@router.post(PAGE + "/autenticador", response_class=HTMLResponse)
async def totp_start(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _signed_out(request)
    values = await forms.read(request)
    try:
        enrolment = await second_factors.start_totp(
            runtime_of(request), current, request_context(request)
        )
    except GuaritaError as error:
        return await _security(request, error=error, status_code=error.status)
    return render(
        request,
        "security_totp.html",
        enrolment=enrolment,
        errors={},
        next=safe_next(values.get("next"), ""),
    )


@router.post(PAGE + "/autenticador/confirmar", response_class=HTMLResponse)
async def totp_confirm(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _signed_out(request)
    values = await forms.read(request)
    runtime = runtime_of(request)
    target = safe_next(values.get("next"), "")
    try:
        codes = await second_factors.confirm_totp(
            runtime,
            current,
            values.get("enrolment_id", ""),
            values.get("code", ""),
            request_context(request),
        )
    except GuaritaError as error:
        if error.code != ErrorCode.INVALID_CODE:
            return await _security(request, error=error, status_code=error.status)
        # The same secret again, so the person does not have to scan a new QR code.
        enrolment = await _same_enrolment(request, values)
        return render(
            request,
            "security_totp.html",
            status_code=error.status,
            enrolment=enrolment,
            errors=forms.field_errors(error),
            error=error,
            next=target,
        )
    if codes:
        return render(request, "security_codes.html", codes=codes, first=True, next=target)
    return _done(request, "autenticador", target)


async def _same_enrolment(request: Request, values: dict[str, str]) -> object:
    """Re-renders the QR code of the enrolment being confirmed (its id came with the form)."""
    runtime = runtime_of(request)
    async with runtime.db.read() as session:
        flow = await flows.load(session, values.get("enrolment_id"), FlowKind.TOTP_ENROLMENT)
    secret = totp.unseal(
        runtime.settings.secret(), flow.data["sealed"], bound_to=f"enrolment:{flow.id_hash}"
    )
    uri = totp.provisioning_uri(
        secret, "conta", totp.issuer_label(runtime.settings.organisation_name)
    )
    return second_factors.TotpEnrolment(
        enrolment_id=values.get("enrolment_id", ""),
        secret=totp.grouped(secret),
        uri=uri,
        expires_at=flow.expires_at,
        qr_svg=totp.qr_svg(uri, label="Código QR para o aplicativo autenticador"),
    )


@router.post(PAGE + "/autenticador/remover", response_class=HTMLResponse)
async def totp_remove(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _signed_out(request)
    values = await forms.read(request)
    try:
        await second_factors.remove_totp(
            runtime_of(request),
            current,
            request_context(request),
            new_password=values.get("new_password") or None,
            confirmation=values.get("new_password_confirmation") or None,
        )
    except GuaritaError as error:
        return await _security(
            request, error=error, status_code=error.status, removing="autenticador"
        )
    return _done(request, "autenticador-removido")


# -- recovery codes ---------------------------------------------------------------------------
@router.post(PAGE + "/codigos", response_class=HTMLResponse)
async def codes_regenerate(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _signed_out(request)
    await forms.read(request)
    try:
        codes = await second_factors.regenerate_codes(
            runtime_of(request), current, request_context(request)
        )
    except GuaritaError as error:
        return await _security(request, error=error, status_code=error.status)
    return render(request, "security_codes.html", codes=codes, first=False, next="")


# -- passkeys ---------------------------------------------------------------------------------
@router.post(PAGE + "/chaves/opcoes")
async def passkey_options(request: Request) -> Response:
    current = await load_session(request)
    try:
        await forms.read(request)
        if current is None:
            raise GuaritaError(ErrorCode.UNAUTHENTICATED)
        options = await passkeys.passkey_options(
            runtime_of(request), current, request_context(request)
        )
    except GuaritaError as error:
        return JSONResponse(
            {"error": {"code": error.code.value, "message": error.message, "field": error.field}},
            status_code=error.status,
        )
    return JSONResponse({"publicKey": options})


@router.post(PAGE + "/chaves", response_class=HTMLResponse)
async def passkey_register(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _signed_out(request)
    values = await forms.read(request)
    target = safe_next(values.get("next"), "")
    try:
        _, codes = await passkeys.register_passkey(
            runtime_of(request),
            current,
            values.get("credential", ""),
            values.get("name"),
            request_context(request),
        )
    except GuaritaError as error:
        return await _security(request, error=error, status_code=error.status)
    if codes:
        return render(request, "security_codes.html", codes=codes, first=True, next=target)
    return _done(request, "chave", target)


@router.post(PAGE + "/chaves/{key_id}/nome", response_class=HTMLResponse)
async def passkey_rename(request: Request, key_id: str) -> Response:
    current = await load_session(request)
    if current is None:
        return _signed_out(request)
    values = await forms.read(request)
    try:
        await passkeys.rename_passkey(
            runtime_of(request),
            current,
            key_id[:128],
            values.get("name", ""),
            request_context(request),
        )
    except GuaritaError as error:
        return await _security(request, error=error, status_code=error.status)
    return _done(request, "chave-renomeada")


@router.post(PAGE + "/chaves/{key_id}/remover", response_class=HTMLResponse)
async def passkey_remove(request: Request, key_id: str) -> Response:
    current = await load_session(request)
    if current is None:
        return _signed_out(request)
    values = await forms.read(request)
    try:
        await passkeys.remove_passkey(
            runtime_of(request),
            current,
            key_id[:128],
            request_context(request),
            new_password=values.get("new_password") or None,
            confirmation=values.get("new_password_confirmation") or None,
        )
    except GuaritaError as error:
        return await _security(request, error=error, status_code=error.status, removing=key_id)
    return _done(request, "chave-removida")
