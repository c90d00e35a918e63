"""The support-desk console at ``/atendimento`` (docs/support-desk.md): thin pages over
``services/support`` and ``services/staff``.

Every route is declared with :func:`console.web.route` and the permission it needs; every form
carries the console's CSRF token; nothing here decides what may be shown (the services do).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from guarita.console import charts
from guarita.console.web import (
    PREFIX,
    PUBLIC,
    SIGNED_IN,
    actor_of,
    clear_staff_cookie,
    current_staff,
    read_form,
    redirect,
    render,
    request_context,
    route,
    router,
    safe_next,
    set_staff_cookie,
)
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.roles import SCOPE_LABELS, TOKEN_SCOPES, Permission, Role
from guarita.edge.forms import field_errors
from guarita.services import staff as staff_service
from guarita.services import support
from guarita.services.support import dashboard as dashboard_service
from guarita.services.support import labels

__all__ = ["router"]

DONE = {
    "contato": "Contato confirmado e salvo. A pessoa já pode usá-lo.",
    "desbloqueio": "Conta desbloqueada. A pessoa já pode tentar entrar de novo.",
    "sem-bloqueio": "A conta não estava bloqueada. Nada mudou.",
    "senha": "Senha reativada. A pessoa já pode entrar com a senha dela.",
    "senha-ativa": "A senha não estava desativada. Nada mudou.",
    "recuperacao": "Código de recuperação enviado. A pessoa segue pelo link da mensagem.",
    "desativada": "Conta desativada. Todas as sessões foram encerradas.",
    "reativada": "Conta reativada.",
    "sem-mudanca": "A conta já estava nessa situação. Nada mudou.",
    "documento": "Conferência de documento registrada.",
}


def _errors(error: GuaritaError) -> dict[str, str]:
    return field_errors(error)


# --- sign-in, enrolment, sign-out --------------------------------------------------------------


@route("GET", "/entrar", PUBLIC)
async def sign_in_form(request: Request) -> Response:
    if await current_staff(request) is not None:
        return redirect(request, PREFIX)
    return render(
        request,
        "console/entrar.html",
        values={},
        errors={},
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
            errors=_errors(error),
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
    return render(request, "console/ativar.html", page=page, token=token, errors={})


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
            errors=_errors(error),
            error=error,
        )
    response = render(request, "console/codigos.html", codes=done.codes)
    set_staff_cookie(response, runtime.settings, done.session_token)
    return response


# --- finding people ---------------------------------------------------------------------------


@route("GET", "", Permission.SEARCH)
async def home(request: Request) -> Response:
    actor = actor_of(request)
    query = request.query_params.get("q", "")[:254]
    kind = request.query_params.get("tipo", "auto")
    result = error = None
    status = 200
    if query.strip():
        try:
            result = await support.search(
                request.app.state.runtime, actor, query, request_context(request, actor), kind=kind
            )
        except GuaritaError as exc:
            error, status = exc, exc.status
    left = request.query_params.get("codigos-restantes")
    return render(
        request,
        "console/inicio.html",
        status_code=status,
        query=query,
        kind=kind,
        result=result,
        error=error,
        errors=_errors(error) if error else {},
        codes_left=int(left) if left and left.isdigit() else None,
    )


async def _person_page(request: Request, person_id: int, *, status_code: int = 200, **extra) -> HTMLResponse:  # noqa: ANN003
    actor = actor_of(request)
    view = await support.person_view(request.app.state.runtime, actor, person_id, request_context(request, actor))
    done = DONE.get(request.query_params.get("feito", ""))
    extra.setdefault("errors", {})
    extra.setdefault("form", "")
    extra.setdefault("values", {})
    return render(
        request,
        "console/pessoa.html",
        status_code=status_code,
        person=view,
        done=done,
        reasons=labels.REASONS,
        document_types=labels.DOCUMENT_TYPES,
        trust_labels=labels.TRUST_LEVELS,
        **extra,
    )


async def _failed(
    request: Request, person_id: int, form: str, error: GuaritaError, values: dict[str, str]
) -> HTMLResponse:
    if error.code is ErrorCode.NOT_FOUND:
        raise error
    kept = {
        k: v
        for k, v in values.items()
        if k in ("reason", "reason_text", "kind", "contact_value", "document_type", "status")
    }
    return await _person_page(
        request,
        person_id,
        status_code=error.status,
        form=form,
        error=error,
        errors=_errors(error),
        values=kept,
    )


def _reason(values: dict[str, str]) -> support.Reason:
    return support.parse_reason(values.get("reason"), values.get("reason_text"))


@route("GET", "/pessoas/{person_id}", Permission.VIEW)
async def person(request: Request, person_id: int) -> Response:
    return await _person_page(request, person_id)


@route("POST", "/pessoas/{person_id}/conferencia", Permission.CALLER_CHECK)
async def caller_check(request: Request, person_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    try:
        result = await support.caller_check(
            request.app.state.runtime,
            actor,
            person_id,
            reason=_reason(values),
            birth_date=values.get("birth_date", ""),
            cpf=values.get("cpf", ""),
            card_number=values.get("card_number", ""),
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        # The typed values are not kept: the form starts empty again, nothing to read along.
        return await _failed(
            request,
            person_id,
            "check",
            error,
            {k: values.get(k, "") for k in ("reason", "reason_text")},
        )
    return await _person_page(
        request,
        person_id,
        check=result,
        form="check",
        values={"reason": values.get("reason", ""), "reason_text": values.get("reason_text", "")},
    )


@route("POST", "/pessoas/{person_id}/carteirinha", Permission.REVEAL_CARD)
async def reveal_card(request: Request, person_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    try:
        card = await support.reveal_card(
            request.app.state.runtime,
            actor,
            person_id,
            reason=_reason(values),
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        return await _failed(request, person_id, "card", error, values)
    return await _person_page(request, person_id, revealed_card=card, form="card")


@route("POST", "/pessoas/{person_id}/contatos", Permission.CONTACTS)
async def contact_start(request: Request, person_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    try:
        started = await support.start_contact_change(
            request.app.state.runtime,
            actor,
            person_id,
            kind=values.get("kind", ""),
            value=values.get("contact_value", ""),
            reason=_reason(values),
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        if error.field == "value":
            error.field = "contact_value"  # the page's field id (one page, several forms)
        return await _failed(request, person_id, "contact", error, values)
    return redirect(request, f"{PREFIX}/pessoas/{person_id}/contatos/{started.id}")


@route("GET", "/pessoas/{person_id}/contatos/{change_id}", Permission.CONTACTS)
async def contact_code_form(request: Request, person_id: int, change_id: str) -> Response:
    actor = actor_of(request)
    change = await support.pending_change(request.app.state.runtime, actor, person_id, change_id)
    return render(request, "console/contato.html", person_id=person_id, change=change, errors={})


@route("POST", "/pessoas/{person_id}/contatos/{change_id}", Permission.CONTACTS)
async def contact_code_submit(request: Request, person_id: int, change_id: str) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    runtime = request.app.state.runtime
    try:
        await support.confirm_contact_change(
            runtime,
            actor,
            person_id,
            change_id,
            code=values.get("code", ""),
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        if error.code is ErrorCode.INVALID_CODE:
            change = await support.pending_change(runtime, actor, person_id, change_id)
            return render(
                request,
                "console/contato.html",
                status_code=error.status,
                person_id=person_id,
                change=change,
                errors={"code": error.message},
                error=error,
            )
        return await _failed(request, person_id, "contact", error, {})
    return redirect(request, f"{PREFIX}/pessoas/{person_id}?feito=contato")


@route("POST", "/pessoas/{person_id}/desbloqueio", Permission.UNLOCK)
async def unlock(request: Request, person_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    try:
        result = await support.unlock(
            request.app.state.runtime,
            actor,
            person_id,
            reason=_reason(values),
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        return await _failed(request, person_id, "unlock", error, values)
    if result.password_disabled:
        return await _person_page(
            request,
            person_id,
            form="unlock",
            warning=(
                "A senha desta conta foi desativada depois de muitas tentativas erradas. "
                "Só um supervisor pode reativá-la."
            ),
        )
    done = "desbloqueio" if result.outcome == "unlocked" else "sem-bloqueio"
    return redirect(request, f"{PREFIX}/pessoas/{person_id}?feito={done}")


@route("POST", "/pessoas/{person_id}/senha", Permission.PASSWORD_REENABLE)
async def reenable_password(request: Request, person_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    try:
        outcome = await support.reenable_password(
            request.app.state.runtime,
            actor,
            person_id,
            reason=_reason(values),
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        return await _failed(request, person_id, "password", error, values)
    done = "senha" if outcome == "reenabled" else "senha-ativa"
    return redirect(request, f"{PREFIX}/pessoas/{person_id}?feito={done}")


@route("POST", "/pessoas/{person_id}/recuperacao", Permission.RECOVERY)
async def start_recovery(request: Request, person_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    try:
        identifier_id = int(values.get("identifier_id", "") or 0)
        await support.start_recovery(
            request.app.state.runtime,
            actor,
            person_id,
            identifier_id=identifier_id,
            reason=_reason(values),
            context=request_context(request, actor),
        )
    except ValueError:
        error = GuaritaError(
            ErrorCode.METHOD_UNAVAILABLE,
            field="identifier_id",
            message="Escolha para qual contato enviar o código.",
        )
        return await _failed(request, person_id, "recovery", error, values)
    except GuaritaError as error:
        return await _failed(request, person_id, "recovery", error, values)
    return redirect(request, f"{PREFIX}/pessoas/{person_id}?feito=recuperacao")


@route("POST", "/pessoas/{person_id}/situacao", Permission.ACCOUNT_STATUS)
async def account_status(request: Request, person_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    try:
        outcome = await support.set_account_status(
            request.app.state.runtime,
            actor,
            person_id,
            status=values.get("status", ""),
            reason=_reason(values),
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        return await _failed(request, person_id, "status", error, values)
    done = {"disabled": "desativada", "active": "reativada"}.get(outcome, "sem-mudanca")
    return redirect(request, f"{PREFIX}/pessoas/{person_id}?feito={done}")


@route("POST", "/pessoas/{person_id}/documento", Permission.IDENTITY_CHECK)
async def identity_check(request: Request, person_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    try:
        await support.record_identity_check(
            request.app.state.runtime,
            actor,
            person_id,
            document_type=values.get("document_type", ""),
            document_number=values.get("document_number", ""),
            reason=_reason(values),
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        return await _failed(request, person_id, "document", error, values)
    return redirect(request, f"{PREFIX}/pessoas/{person_id}?feito=documento")


# --- supervisor dashboard ---------------------------------------------------------------------


@route("GET", "/painel", Permission.DASHBOARD)
async def dashboard(request: Request) -> Response:
    board = await dashboard_service.build(request.app.state.runtime)
    days = len(board.days)
    return render(
        request,
        "console/painel.html",
        board=board,
        charts=charts.charts(board),
        agents_chart=charts.agents_chart("chart-agents", board.agents, days=days),
        action_columns=charts.action_columns(),
        recovery_methods=dashboard_service.RECOVERY_METHODS,
        days=days,
    )


# --- admin: staff and API tokens --------------------------------------------------------------


async def _staff_page(request: Request, *, status_code: int = 200, **extra) -> HTMLResponse:  # noqa: ANN003
    people = await staff_service.list_staff(request.app.state.runtime)
    extra.setdefault("errors", {})
    extra.setdefault("values", {})
    return render(
        request,
        "console/equipe.html",
        status_code=status_code,
        people=people,
        roles=list(Role),
        **extra,
    )


@route("GET", "/equipe", Permission.STAFF)
async def staff_list(request: Request) -> Response:
    return await _staff_page(request)


@route("POST", "/equipe", Permission.STAFF)
async def staff_add(request: Request) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    try:
        enrolment = await staff_service.add_staff(
            request.app.state.runtime,
            email=values.get("email", ""),
            name=values.get("name", ""),
            role=values.get("role", ""),
            created_by=actor.audit_id,
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        return await _staff_page(
            request,
            status_code=error.status,
            errors=_errors(error),
            error=error,
            values={k: values.get(k, "") for k in ("email", "name", "role")},
        )
    return await _staff_page(request, enrolment=enrolment)


@route("POST", "/equipe/{staff_id}/link", Permission.STAFF)
async def staff_reset(request: Request, staff_id: int) -> Response:
    actor = actor_of(request)
    await read_form(request)
    enrolment = await staff_service.reset_staff(
        request.app.state.runtime,
        staff_id=staff_id,
        actor=actor.audit_id,
        context=request_context(request, actor),
    )
    return await _staff_page(request, enrolment=enrolment)


@route("POST", "/equipe/{staff_id}/situacao", Permission.STAFF)
async def staff_status(request: Request, staff_id: int) -> Response:
    actor = actor_of(request)
    values = await read_form(request)
    if staff_id == actor.id and values.get("status") != "active":
        error = GuaritaError(ErrorCode.VALIDATION_ERROR, message="Você não pode desativar o seu próprio acesso.")
        return await _staff_page(request, status_code=error.status, error=error)
    await staff_service.set_staff_status(
        request.app.state.runtime,
        staff_id,
        enabled=values.get("status") == "active",
        actor=actor.audit_id,
        context=request_context(request, actor),
    )
    return redirect(request, f"{PREFIX}/equipe")


async def _tokens_page(request: Request, *, status_code: int = 200, **extra) -> HTMLResponse:  # noqa: ANN003
    tokens = await staff_service.list_tokens(request.app.state.runtime)
    extra.setdefault("errors", {})
    extra.setdefault("values", {})
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
    actor = actor_of(request)
    form = await request.form()
    values = await read_form(request)
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    try:
        default_days = request.app.state.runtime.settings.support.token_default_days
        days = int(values.get("expires_days", "") or default_days)
    except ValueError:
        days = 0
    try:
        token = await staff_service.create_token(
            request.app.state.runtime,
            name=values.get("name", ""),
            scopes=scopes,
            expires_days=days,
            created_by=actor.audit_id,
            context=request_context(request, actor),
        )
    except GuaritaError as error:
        return await _tokens_page(
            request,
            status_code=error.status,
            errors=_errors(error),
            error=error,
            values={
                "name": values.get("name", ""),
                "expires_days": values.get("expires_days", ""),
                "scopes": scopes,
            },
        )
    return await _tokens_page(request, created=token)


@route("POST", "/tokens/{token_id}/revogar", Permission.TOKENS)
async def token_revoke(request: Request, token_id: int) -> Response:
    actor = actor_of(request)
    await read_form(request)
    await staff_service.revoke_token(
        request.app.state.runtime,
        token_id,
        actor=actor.audit_id,
        context=request_context(request, actor),
    )
    return redirect(request, f"{PREFIX}/tokens")
