"""The support-desk console at ``/atendimento`` (docs/support-desk.md › What an agent does): the
search, the person page and its forms, and the supervisor dashboard — thin pages over
``services/support``. The staff pages are in ``console/staff_pages.py``.

Every route is declared with :func:`console.web.route` and the permission it needs; every form
carries the console's CSRF token; nothing here decides what may be shown (the services do).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from guarita.console import charts
from guarita.console.calls import actor_of, call
from guarita.console.web import (
    PREFIX,
    check_csrf,
    page_translator,
    read_form,
    redirect,
    render,
    route,
    router,
)
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.roles import Permission
from guarita.edge import csrf
from guarita.edge.forms import field_errors
from guarita.edge.uploads import read_photo
from guarita.methods.base import N_
from guarita.services import support
from guarita.services.support import dashboard as dashboard_service
from guarita.services.support import face_reference, labels

__all__ = ["router"]

DONE = {
    "contato": N_("Contato confirmado e salvo. A pessoa já pode usá-lo."),
    "desbloqueio": N_("Conta desbloqueada. A pessoa já pode tentar entrar de novo."),
    "sem-bloqueio": N_("A conta não estava bloqueada. Nada mudou."),
    "senha": N_("Senha reativada. A pessoa já pode entrar com a senha dela."),
    "senha-ativa": N_("A senha não estava desativada. Nada mudou."),
    "recuperacao": N_("Código de recuperação enviado. A pessoa segue pelo link da mensagem."),
    "desativada": N_("Conta desativada. Todas as sessões foram encerradas."),
    "reativada": N_("Conta reativada."),
    "sem-mudanca": N_("A conta já estava nessa situação. Nada mudou."),
    "documento": N_("Conferência de documento registrada."),
    "duas-etapas": N_("Verificação em duas etapas removida. Todas as sessões foram encerradas e os "
                   "contatos foram avisados."),
    "rosto-guardado": N_("Foto de referência guardada. A pessoa já pode recuperar a senha com a "
                         "validação facial."),
    "rosto-trocado": N_("Foto de referência trocada pela nova."),
    "rosto-apagado": N_("Referência facial apagada, como a pessoa pediu."),
    "sem-rosto": N_("Não havia referência facial guardada. Nada mudou."),
}
# What a form shown again after an error keeps of what was typed: never the caller's data.
KEPT = ("reason", "reason_text", "kind", "contact_value", "document_type", "status")


# --- finding people ---------------------------------------------------------------------------


@route("GET", "", Permission.SEARCH)
async def home(request: Request) -> Response:
    query = request.query_params.get("q", "")[:254]
    kind = request.query_params.get("tipo", "auto")
    result = error = None
    status = 200
    if query.strip():
        try:
            result = await call(request, support.search, query, kind=kind,
                                reason=request.query_params.get("reason", "")[:32] or None)
        except GuaritaError as exc:
            error, status = exc, exc.status
    left = request.query_params.get("codigos-restantes")
    return render(
        request,
        "console/inicio.html",
        status_code=status,
        query=query,
        kind=kind,
        reasons=labels.REASONS,
        chosen_reason=request.query_params.get("reason", ""),
        result=result,
        error=error,
        errors=field_errors(error) if error else {},
        codes_left=int(left) if left and left.isdigit() else None,
    )


# --- the person page and its forms ------------------------------------------------------------


async def _person_page(request: Request, person_id: int, *, status_code: int = 200, **extra) -> HTMLResponse:  # noqa: ANN003
    view = await call(request, support.person_view, person_id)
    done = DONE.get(request.query_params.get("feito", ""))
    extra.setdefault("form", "")
    # The facial validation's reference and latest outcomes, only once the caller was checked
    # (the rest of the page is masked until then).
    face = (await face_reference.summary(request.app.state.runtime, view.id, view.account_id)
            if view.unmasked else None)
    response = render(
        request,
        "console/pessoa.html",
        status_code=status_code,
        person=view,
        done=done,
        reasons=labels.REASONS,
        document_types=labels.DOCUMENT_TYPES,
        trust_labels=labels.TRUST_LEVELS,
        face=face,
        face_tag_label=labels.tag_label,
        face_outcome_label=labels.face_outcome_label,
        face_sources=labels.SOURCES_OF_FACES,
        **extra,
    )
    # The reference photo is taken with the agency's camera on this page; every other page keeps
    # the camera off (SECURITY.md › Sessions and cookies: headers).
    response.headers["permissions-policy"] = "camera=(self), microphone=(), geolocation=()"
    return response


async def _failed(
    request: Request, person_id: int, form: str, error: GuaritaError, values: dict[str, str], keep: tuple[str, ...]
) -> HTMLResponse:
    """The person page again, the error under ``form``, the fields in ``keep`` filled in."""
    if error.code is ErrorCode.NOT_FOUND:
        raise error
    kept = {k: v for k, v in values.items() if k in keep}
    return await _person_page(
        request, person_id, status_code=error.status, form=form, error=error, errors=field_errors(error), values=kept
    )


def _done(request: Request, person_id: int, done: str) -> Response:
    return redirect(request, f"{PREFIX}/pessoas/{person_id}?feito={done}")


def _reason(values: dict[str, str]) -> support.Reason:
    return support.parse_reason(values.get("reason"), values.get("reason_text"))


FormAction = Callable[[Request, int, dict[str, str]], Awaitable[Response]]


def person_form(path: str, permission: Permission, form: str, *, keep: tuple[str, ...] = KEPT):  # noqa: ANN201
    """Declares the POST of one form of the person page, ``/pessoas/{person_id}<path>``.

    The action gets the form's values after the CSRF check; a :class:`GuaritaError` it raises
    shows the person page again with the error under ``form`` (a missing person stays a 404).
    """

    def register(action: FormAction) -> FormAction:
        async def handler(request: Request, person_id: int) -> Response:
            values = await read_form(request)
            try:
                return await action(request, person_id, values)
            except GuaritaError as error:
                return await _failed(request, person_id, form, error, values, keep)

        handler.__name__ = action.__name__
        route("POST", f"/pessoas/{{person_id}}{path}", permission)(handler)
        return action

    return register


@route("GET", "/pessoas/{person_id}", Permission.VIEW)
async def person(request: Request, person_id: int) -> Response:
    return await _person_page(request, person_id)


# The typed values are not kept: the form starts empty again, nothing to read along.
@person_form("/conferencia", Permission.CALLER_CHECK, "check", keep=("reason", "reason_text"))
async def caller_check(request: Request, person_id: int, values: dict[str, str]) -> Response:
    said = {k: values.get(k, "") for k in ("birth_date", "cpf", "card_number")}
    result = await call(request, support.caller_check, person_id, reason=_reason(values), **said)
    reason = {k: values.get(k, "") for k in ("reason", "reason_text")}
    return await _person_page(request, person_id, check=result, form="check", values=reason)


@person_form("/carteirinha", Permission.REVEAL_CARD, "card")
async def reveal_card(request: Request, person_id: int, values: dict[str, str]) -> Response:
    card = await call(request, support.reveal_card, person_id, reason=_reason(values))
    return await _person_page(request, person_id, revealed_card=card, form="card")


@person_form("/contatos", Permission.CONTACTS, "contact")
async def contact_start(request: Request, person_id: int, values: dict[str, str]) -> Response:
    kind, value = values.get("kind", ""), values.get("contact_value", "")
    try:
        started = await call(
            request, support.start_contact_change, person_id, kind=kind, value=value, reason=_reason(values)
        )
    except GuaritaError as error:
        if error.field == "value":
            error.field = "contact_value"  # the page's field id (one page, several forms)
        raise
    return redirect(request, f"{PREFIX}/pessoas/{person_id}/contatos/{started.id}")


@route("GET", "/pessoas/{person_id}/contatos/{change_id}", Permission.CONTACTS)
async def contact_code_form(request: Request, person_id: int, change_id: str) -> Response:
    return await _contact_code_page(request, person_id, change_id)


async def _contact_code_page(
    request: Request, person_id: int, change_id: str, error: GuaritaError | None = None
) -> Response:
    runtime = request.app.state.runtime
    change = await support.pending_change(runtime, actor_of(request), person_id, change_id)
    return render(
        request,
        "console/contato.html",
        status_code=error.status if error else 200,
        person_id=person_id,
        change=change,
        # the message goes next to the field it is about: the new contact's code or the proof
        errors={("proof_code" if error.field == "proof_code" else "code"): error.message} if error else {},
        error=error,
    )


@route("POST", "/pessoas/{person_id}/contatos/{change_id}", Permission.CONTACTS)
async def contact_code_submit(request: Request, person_id: int, change_id: str) -> Response:
    values = await read_form(request)
    try:
        await call(
            request,
            support.confirm_contact_change,
            person_id,
            change_id,
            code=values.get("code", ""),
            proof_code=values.get("proof_code", ""),
        )
    except GuaritaError as error:
        # typed wrong (either code): the same form, to try again
        if error.code in (ErrorCode.INVALID_CODE, ErrorCode.CONTACT_PROOF_REQUIRED):
            return await _contact_code_page(request, person_id, change_id, error)
        return await _failed(request, person_id, "contact", error, {}, ())
    return _done(request, person_id, "contato")


@person_form("/desbloqueio", Permission.UNLOCK, "unlock")
async def unlock(request: Request, person_id: int, values: dict[str, str]) -> Response:
    result = await call(request, support.unlock, person_id, reason=_reason(values))
    if result.password_disabled:
        return await _person_page(
            request,
            person_id,
            form="unlock",
            warning=N_(
                "A senha desta conta foi desativada depois de muitas tentativas erradas. "
                "Só um supervisor pode reativá-la."
            ),
        )
    return _done(request, person_id, "desbloqueio" if result.outcome == "unlocked" else "sem-bloqueio")


@person_form("/senha", Permission.PASSWORD_REENABLE, "password")
async def reenable_password(request: Request, person_id: int, values: dict[str, str]) -> Response:
    outcome = await call(request, support.reenable_password, person_id, reason=_reason(values))
    return _done(request, person_id, "senha" if outcome == "reenabled" else "senha-ativa")


def _identifier_id(values: dict[str, str]) -> int:
    try:
        return int(values.get("identifier_id", "") or 0)
    except ValueError as exc:
        raise GuaritaError(
            ErrorCode.METHOD_UNAVAILABLE, field="identifier_id", message=Message.CHOOSE_CODE_DESTINATION
        ) from exc


@person_form("/recuperacao", Permission.RECOVERY, "recovery")
async def start_recovery(request: Request, person_id: int, values: dict[str, str]) -> Response:
    identifier_id = _identifier_id(values)
    await call(request, support.start_recovery, person_id, identifier_id=identifier_id, reason=_reason(values))
    return _done(request, person_id, "recuperacao")


@person_form("/situacao", Permission.ACCOUNT_STATUS, "status")
async def account_status(request: Request, person_id: int, values: dict[str, str]) -> Response:
    status = values.get("status", "")
    outcome = await call(request, support.set_account_status, person_id, status=status, reason=_reason(values))
    return _done(request, person_id, {"disabled": "desativada", "active": "reativada"}.get(outcome, "sem-mudanca"))


@person_form("/duas-etapas", Permission.SECOND_FACTOR_REMOVE, "second_factors")
async def remove_second_factors(request: Request, person_id: int, values: dict[str, str]) -> Response:
    await call(request, support.remove_second_factors, person_id, reason=_reason(values))
    return _done(request, person_id, "duas-etapas")


@person_form("/documento", Permission.IDENTITY_CHECK, "document")
async def identity_check(request: Request, person_id: int, values: dict[str, str]) -> Response:
    document = {k: values.get(k, "") for k in ("document_type", "document_number")}
    await call(request, support.record_identity_check, person_id, reason=_reason(values), **document)
    return _done(request, person_id, "documento")


# --- the reference face (docs/face.md › Reference photos) --------------------------------------


@route("POST", "/pessoas/{person_id}/rosto", Permission.IDENTITY_CHECK)
async def face_capture(request: Request, person_id: int) -> Response:
    """Supervisor, after the in-person document check: the photo taken with the agency's camera
    (the page's script puts it in the file field) or a file chosen instead, in one multipart
    form. The body is capped before it is parsed (``edge/uploads.read_photo``)."""
    try:
        photo, values = await read_photo(request)
    except GuaritaError as error:
        return await _failed(request, person_id, "face", error, {}, ())
    check_csrf(request, values.get(csrf.FIELD))
    try:
        outcome = await call(request, face_reference.capture_reference, person_id, photo,
                             _reason(values))
    except GuaritaError as error:
        return await _failed(request, person_id, "face", error, values, ("reason", "reason_text"))
    return _done(request, person_id, "rosto-guardado" if outcome == "created" else "rosto-trocado")


@person_form("/rosto/apagar", Permission.CONTACTS, "face_delete")
async def face_delete(request: Request, person_id: int, values: dict[str, str]) -> Response:
    """LGPD art. 18 VI: the person asks the desk to delete the reference face."""
    outcome = await call(request, face_reference.delete_reference, person_id, _reason(values))
    return _done(request, person_id, "rosto-apagado" if outcome == "deleted" else "sem-rosto")


# --- supervisor dashboard ---------------------------------------------------------------------


@route("GET", "/painel", Permission.DASHBOARD)
async def dashboard(request: Request) -> Response:
    board = await dashboard_service.build(request.app.state.runtime)
    days = len(board.days)
    return render(
        request,
        "console/painel.html",
        board=board,
        charts=charts.charts(board, page_translator(request)),
        agents_chart=charts.agents_chart("chart-agents", board.agents, days=days,
                                         translate=page_translator(request)),
        action_columns=charts.action_columns(),
        recovery_methods=dashboard_service.RECOVERY_METHODS,
        days=days,
        face_reviews=await face_reference.review_requests(request.app.state.runtime),
    )
