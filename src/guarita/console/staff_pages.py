"""The staff pages of the console (docs/support-desk.md › Enrolling staff): sign-in, enrolment,
sign-out, and the admin's team and API tokens pages — thin pages over ``services/staff``.

Every route is declared with :func:`console.web.route` and the permission it needs; every form
carries the console's CSRF token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from guarita.console.calls import actor_of, request_context
from guarita.console.web import (
    PREFIX,
    PUBLIC,
    SIGNED_IN,
    clear_staff_cookie,
    current_staff,
    read_form,
    redirect,
    render,
    route,
    router,
    safe_next,
    set_staff_cookie,
)
from guarita.domain.accounts import StaffStatus
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.roles import SCOPE_LABELS, TOKEN_SCOPES, Permission, Role
from guarita.edge.forms import field_errors
from guarita.services import staff as staff_service

__all__ = ["router"]

T = TypeVar("T")


# --- sign-in, enrolment, sign-out --------------------------------------------------------------


@route("GET", "/entrar", PUBLIC)
async def sign_in_form(request: Request) -> Response:
    if await current_staff(request) is not None:
        return redirect(request, PREFIX)
    return render(
        request,
        "console/entrar.html",
        next=safe_next(request.query_params.get("next")),
    )


@route("POST", "/entrar", PUBLIC)
async def sign_in_submit(request: Request) -> Response:
    values = await read_form(request)
    runtime = request.app.state.runtime
    target = safe_next(values.get("next"))
    try:
        result = await staff_service.sign_in(
            runtime,
            values.get("email", ""),
            values.get("password", ""),
            values.get("code", ""),
            request_context(request),
        )
    except GuaritaError as error:
        return render(
            request,
            "console/entrar.html",
            status_code=error.status,
            values={"email": values.get("email", "")[:254]},
            errors=field_errors(error),
            error=error,
            next=target,
        )
    if result.used_recovery_code:
        target = f"{PREFIX}?codigos-restantes={result.recovery_codes_left}"
    response = redirect(request, target)
    set_staff_cookie(response, runtime.settings, result.token)
    return response


@route("POST", "/sair", SIGNED_IN)
async def sign_out(request: Request) -> Response:
    actor = actor_of(request)
    await read_form(request)
    runtime = request.app.state.runtime
    await staff_service.sign_out(runtime, actor, request_context(request, actor))
    response = redirect(request, f"{PREFIX}/entrar?saiu=1")
    clear_staff_cookie(response, runtime.settings)
    return response


@route("GET", "/ativar", PUBLIC)
async def enrolment_form(request: Request) -> Response:
    token = request.query_params.get("token", "")
    page = await staff_service.enrolment_page(request.app.state.runtime, token)
    return render(request, "console/ativar.html", page=page, token=token)


@route("POST", "/ativar", PUBLIC)
async def enrolment_submit(request: Request) -> Response:
    values = await read_form(request)
    runtime = request.app.state.runtime
    token = values.get("token", "")
    try:
        done = await staff_service.complete_enrolment(
            runtime,
            token,
            password=values.get("password", ""),
            confirmation=values.get("password_confirmation", ""),
            code=values.get("code", ""),
            context=request_context(request),
        )
    except GuaritaError as error:
        if error.code in (ErrorCode.ENROLMENT_EXPIRED, ErrorCode.FLOW_STATE_INVALID):
            raise
        page = await staff_service.enrolment_page(runtime, token)
        return render(
            request,
            "console/ativar.html",
            status_code=error.status,
            page=page,
            token=token,
            errors=field_errors(error),
            error=error,
        )
    response = render(request, "console/codigos.html", codes=done.codes)
    set_staff_cookie(response, runtime.settings, done.session_token)
    return response


# --- admin: staff and API tokens --------------------------------------------------------------


async def _as_admin(
    request: Request, use_case: Callable[..., Awaitable[T]], *args: Any, by: str = "actor", **kw: Any
) -> T:
    """``use_case(runtime, *args, <by>=admin's audit id, context=…, **kw)``: the staff services
    name who acted (``actor`` or ``created_by``) rather than taking an :class:`Actor`."""
    actor = actor_of(request)
    return await use_case(
        request.app.state.runtime, *args, context=request_context(request, actor), **{by: actor.audit_id}, **kw
    )


async def _again(
    page: Callable[..., Awaitable[HTMLResponse]], request: Request, error: GuaritaError, typed: dict
) -> HTMLResponse:
    """An admin page again, with the error and what was typed."""
    return await page(request, status_code=error.status, errors=field_errors(error), error=error, values=typed)


async def _staff_page(request: Request, *, status_code: int = 200, **extra) -> HTMLResponse:  # noqa: ANN003
    people = await staff_service.list_staff(request.app.state.runtime)
    return render(request, "console/equipe.html", status_code=status_code, people=people, roles=list(Role), **extra)


@route("GET", "/equipe", Permission.STAFF)
async def staff_list(request: Request) -> Response:
    return await _staff_page(request)


@route("POST", "/equipe", Permission.STAFF)
async def staff_add(request: Request) -> Response:
    values = await read_form(request)
    try:
        typed = {k: values.get(k, "") for k in ("email", "name", "role")}
        enrolment = await _as_admin(request, staff_service.add_staff, by="created_by", **typed)
    except GuaritaError as error:
        return await _again(_staff_page, request, error, typed)
    return await _staff_page(request, enrolment=enrolment)


@route("POST", "/equipe/{staff_id}/link", Permission.STAFF)
async def staff_reset(request: Request, staff_id: int) -> Response:
    await read_form(request)
    enrolment = await _as_admin(request, staff_service.reset_staff, staff_id=staff_id)
    return await _staff_page(request, enrolment=enrolment)


@route("POST", "/equipe/{staff_id}/situacao", Permission.STAFF)
async def staff_status(request: Request, staff_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    enabled = values.get("status") == StaffStatus.ACTIVE
    if staff_id == actor.id and not enabled:
        error = GuaritaError(ErrorCode.VALIDATION_ERROR, message=Message.CANNOT_DISABLE_SELF)
        return await _staff_page(request, status_code=error.status, error=error)
    await _as_admin(request, staff_service.set_staff_status, staff_id, enabled=enabled)
    return redirect(request, f"{PREFIX}/equipe")


async def _tokens_page(request: Request, *, status_code: int = 200, **extra) -> HTMLResponse:  # noqa: ANN003
    tokens = await staff_service.list_tokens(request.app.state.runtime)
    return render(
        request,
        "console/tokens.html",
        status_code=status_code,
        tokens=tokens,
        scopes=[(str(s), SCOPE_LABELS[s]) for s in TOKEN_SCOPES],
        default_days=request.app.state.runtime.settings.support.token_default_days,
        max_days=request.app.state.runtime.settings.support.token_max_days,
        **extra,
    )


@route("GET", "/tokens", Permission.TOKENS)
async def token_list(request: Request) -> Response:
    return await _tokens_page(request)


@route("POST", "/tokens", Permission.TOKENS)
async def token_create(request: Request) -> Response:
    form = await request.form()
    values = await read_form(request)
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    try:
        default_days = request.app.state.runtime.settings.support.token_default_days
        days = int(values.get("expires_days", "") or default_days)
    except ValueError:
        days = 0
    try:
        token = await _as_admin(
            request,
            staff_service.create_token,
            by="created_by",
            name=values.get("name", ""),
            scopes=scopes,
            expires_days=days,
        )
    except GuaritaError as error:
        typed = {"name": values.get("name", ""), "expires_days": values.get("expires_days", ""), "scopes": scopes}
        return await _again(_tokens_page, request, error, typed)
    return await _tokens_page(request, created=token)


@route("POST", "/tokens/{token_id}/revogar", Permission.TOKENS)
async def token_revoke(request: Request, token_id: int) -> Response:
    await read_form(request)
    await _as_admin(request, staff_service.revoke_token, token_id)
    return redirect(request, f"{PREFIX}/tokens")
