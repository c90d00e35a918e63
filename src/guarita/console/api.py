"""The support API at ``/api/v1/support`` for the organisation's CRM (docs/support-desk.md ›
The support API).

The same use cases as the console (``services/support``), authenticated by
``Authorization: Bearer gst_…`` — a token an admin created with scopes and an expiry
(``guarita staff token create``, or the console's *Tokens da API* page). Each route declares the
scope it needs (:func:`route`); a token without it gets ``forbidden`` (403), a missing, unknown,
expired or revoked token ``unauthenticated`` (401). The optional ``X-Support-Agent`` header names
the CRM's own operator; it is recorded in the audit log next to the token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from guarita.console.calls import call, keep_actor
from guarita.domain.actors import Actor
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.roles import Permission
from guarita.edge.envelope import error_responses
from guarita.services import staff as staff_service
from guarita.services import support
from guarita.services.support import dashboard as dashboard_service
from guarita.services.support import labels

PREFIX = "/api/v1/support"
ROUTES: dict[tuple[str, str], Permission] = {}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SupportToken",
    description="Token da API de atendimento (`gst_…`), criado por um administrador.",
)
_REASONS_DOC = "Motivo do atendimento: " + ", ".join(f"`{k}` ({v})" for k, v in labels.REASONS.items())


async def _actor(request: Request) -> Actor:
    credentials: HTTPAuthorizationCredentials | None = await bearer(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise GuaritaError(ErrorCode.UNAUTHENTICATED, message=Message.SUPPORT_TOKEN_MISSING)
    agent = (request.headers.get("x-support-agent") or "").strip()[:100] or None
    actor = await staff_service.authenticate_token(request.app.state.runtime, credentials.credentials, crm_agent=agent)
    if actor is None:
        raise GuaritaError(
            ErrorCode.UNAUTHENTICATED,
            message=Message.SUPPORT_TOKEN_INVALID,
        )
    return actor


def _require(permission: Permission):  # noqa: ANN202
    async def check(request: Request) -> None:
        actor = await _actor(request)
        if not actor.can(permission):
            raise GuaritaError(ErrorCode.FORBIDDEN)
        keep_actor(request, actor)

    return check


router = APIRouter(prefix=PREFIX, tags=["atendimento"])


def route(method: str, path: str, permission: Permission, **kwargs: Any):  # noqa: ANN201
    ROUTES[(method, PREFIX + path)] = permission
    kwargs.setdefault("responses", error_responses(401, 403, 404, 422))
    return router.api_route(
        path,
        methods=[method],
        dependencies=[Depends(_require(permission))],
        openapi_extra={"x-required-scope": str(permission), **kwargs.pop("openapi_extra", {})},
        **kwargs,
    )


# What any action on a person may answer besides 401 and 403: no such person, no grant or no
# account (409), invalid input.
ACTION_ERRORS = (404, 409, 422)


def person_route(path: str, permission: Permission, answer: type[BaseModel], summary: str, *errors: int, **kwargs: Any):  # noqa: ANN201
    """A POST about one person: ``/people/{person_id}<path>``, answering ``answer``."""
    return route(
        "POST",
        "/people/{person_id}" + path,
        permission,
        response_model=answer,
        summary=summary,
        responses=error_responses(401, 403, *errors),
        **kwargs,
    )


# --- bodies ------------------------------------------------------------------------------------


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=1024)


class Reasoned(Body):
    reason: str = Field(max_length=32, description=_REASONS_DOC, examples=["carteirinha"])
    reason_text: str | None = Field(
        default=None,
        max_length=500,
        description="Texto livre; obrigatório quando o motivo é `outro`.",
    )

    def arguments(self) -> dict[str, Any]:
        """The use case's keyword arguments: every field by its own name, the reason parsed."""
        fields = self.model_dump(exclude={"reason", "reason_text"})
        return {**fields, "reason": support.parse_reason(self.reason, self.reason_text)}


class CallerCheckIn(Reasoned):
    birth_date: str = Field(max_length=32, examples=["1948-05-12", "12/05/1948"])
    cpf: str | None = Field(default=None, max_length=32)
    card_number: str | None = Field(default=None, max_length=64)


class CallerCheckOut(BaseModel):
    result: str = Field(description="`confere` ou `nao_confere` — nada além disso.", examples=["confere"])
    passed: bool
    grant_expires_at: datetime | None
    checks_left: int


class CardOut(BaseModel):
    card_number: str


class ContactChangeIn(Reasoned):
    kind: str = Field(max_length=8, description="`email` ou `phone`")
    value: str = Field(max_length=254)
    proof_contact_id: int | None = Field(
        default=None,
        description=(
            "Quando a conta já tem contato confirmado: qual deles recebe o código de autorização "
            "(um `id` de `recovery_contacts`; sem ele, o primeiro)."
        ),
    )


class ContactChangeOut(BaseModel):
    id: str
    kind: str
    destination: str = Field(description="O novo contato, mascarado.")
    expires_at: datetime
    proof: str = Field(
        description=(
            "`existing_contact` (código também ao contato que a conta já tinha), `in_person` "
            "(conferência presencial recente) ou `caller_check` (conta sem contato confirmado)."
        )
    )
    proof_destination: str | None = Field(
        default=None, description="O contato que já existia e recebeu o código, mascarado."
    )


class CodeIn(Body):
    code: str = Field(max_length=32, description="O código que a pessoa leu em voz alta.")
    proof_code: str | None = Field(
        default=None, max_length=32,
        description="O código enviado ao contato que a conta já tinha (quando `proof` é "
        "`existing_contact`).",
    )


class IdentifierOut(BaseModel):
    id: int
    kind: str
    display: str
    verified: bool
    login_enabled: bool


class OutcomeOut(BaseModel):
    outcome: str
    password_disabled: bool | None = None


class RecoveryIn(Reasoned):
    identifier_id: int = Field(description="Um e-mail ou celular confirmado, de `recovery_contacts`.")


class RecoveryOut(BaseModel):
    channel: str
    destination: str
    expires_at: datetime


class StatusIn(Reasoned):
    status: str = Field(max_length=16, description="`disabled` ou `active`")


class IdentityCheckIn(Reasoned):
    document_type: str = Field(max_length=16, description=", ".join(labels.DOCUMENT_TYPES))
    document_number: str = Field(max_length=64)


class IdentityCheckOut(BaseModel):
    trust_before: str
    trust_after: str


# --- routes ------------------------------------------------------------------------------------


@route("GET", "/people", Permission.SEARCH, summary="Buscar pessoas (resultado mascarado)",
       responses=error_responses(401, 403, 422, 423, 429))
async def search(request: Request, q: str, kind: str = "auto", reason: str | None = None) -> dict:
    """Por CPF, carteirinha, e-mail, celular ou nome (prefixo, sem diferença de acentos e
    maiúsculas). `kind`: auto, cpf, card, email, phone ou name. `reason` (o motivo da ligação,
    um dos códigos de motivo) é obrigatório para buscar por um identificador completo (CPF,
    carteirinha, e-mail, celular): sem ele, `reason_required`. Cada token tem um limite de
    buscas por período (`rate_limited`, com `Retry-After`)."""
    result = await call(request, support.search, q[:254], kind=kind, reason=(reason or "")[:32] or None)
    return {
        "query_kinds": result.query_kinds,
        "truncated": result.truncated,
        "people": [p.as_json() for p in result.people],
    }


@route("GET", "/people/{person_id}", Permission.VIEW, summary="Ver uma pessoa")
async def person(request: Request, person_id: int) -> dict:
    """Mascarada até uma conferência de dados com resultado `confere` deste token."""
    return (await call(request, support.person_view, person_id)).as_json()


@person_route(
    "/caller-checks", Permission.CALLER_CHECK, CallerCheckOut, "Conferir os dados de quem liga", 404, 422, 429
)
async def caller_check(request: Request, person_id: int, body: CallerCheckIn) -> CallerCheckOut:
    """Data de nascimento e CPF ou carteirinha, como a pessoa disse. A resposta é só
    `confere` ou `nao_confere`."""
    result = await call(request, support.caller_check, person_id, **body.arguments())
    return CallerCheckOut(
        result=result.answer, passed=result.passed, grant_expires_at=result.expires_at, checks_left=result.checks_left
    )


@person_route("/card-reveals", Permission.REVEAL_CARD, CardOut, "Informar o número da carteirinha", *ACTION_ERRORS)
async def reveal_card(request: Request, person_id: int, body: Reasoned) -> CardOut:
    return CardOut(card_number=await call(request, support.reveal_card, person_id, **body.arguments()))


@person_route(
    "/contact-changes",
    Permission.CONTACTS,
    ContactChangeOut,
    "Cadastrar ou trocar e-mail ou celular",
    *ACTION_ERRORS,
    429,
    status_code=202,
)
async def contact_start(request: Request, person_id: int, body: ContactChangeIn) -> ContactChangeOut:
    """Envia um código ao novo contato; ele só é salvo quando o código volta
    (`…/contact-changes/{id}/confirmation`)."""
    started = await call(request, support.start_contact_change, person_id, **body.arguments())
    return ContactChangeOut(
        id=started.id,
        kind=started.kind,
        destination=started.destination,
        expires_at=started.expires_at,
        proof=started.proof,
        proof_destination=started.proof_destination,
    )


@person_route(
    "/contact-changes/{change_id}/confirmation",
    Permission.CONTACTS,
    IdentifierOut,
    "Confirmar o novo contato com o código",
    400,
    404,
    409,
    410,
    422,
    429,
)
async def contact_confirm(request: Request, person_id: int, change_id: str, body: CodeIn) -> IdentifierOut:
    saved = await call(
        request, support.confirm_contact_change, person_id, change_id, code=body.code, proof_code=body.proof_code
    )
    return IdentifierOut(
        id=saved.id, kind=saved.kind, display=saved.display, verified=saved.verified, login_enabled=saved.login_enabled
    )


@person_route("/unlock", Permission.UNLOCK, OutcomeOut, "Desbloquear conta bloqueada por tentativas", *ACTION_ERRORS)
async def unlock(request: Request, person_id: int, body: Reasoned) -> OutcomeOut:
    """`unlocked`, `not_locked`, ou `refused` com `password_disabled: true` (a senha foi
    desativada: só um supervisor reativa, em `…/password-reenable`)."""
    result = await call(request, support.unlock, person_id, **body.arguments())
    return OutcomeOut(outcome=result.outcome, password_disabled=result.password_disabled)


@person_route(
    "/password-reenable",
    Permission.PASSWORD_REENABLE,
    OutcomeOut,
    "Reativar senha desativada (supervisor)",
    *ACTION_ERRORS,
)
async def reenable_password(request: Request, person_id: int, body: Reasoned) -> OutcomeOut:
    return OutcomeOut(outcome=await call(request, support.reenable_password, person_id, **body.arguments()))


@person_route(
    "/recoveries",
    Permission.RECOVERY,
    RecoveryOut,
    "Iniciar recuperação de senha",
    *ACTION_ERRORS,
    429,
    status_code=202,
)
async def start_recovery(request: Request, person_id: int, body: RecoveryIn) -> RecoveryOut:
    """O código vai ao contato confirmado escolhido; a pessoa segue pelo link da mensagem."""
    started = await call(request, support.start_recovery, person_id, **body.arguments())
    return RecoveryOut(channel=started.channel, destination=started.destination, expires_at=started.expires_at)


@person_route(
    "/status", Permission.ACCOUNT_STATUS, OutcomeOut, "Desativar ou reativar conta (supervisor)", *ACTION_ERRORS
)
async def account_status(request: Request, person_id: int, body: StatusIn) -> OutcomeOut:
    return OutcomeOut(outcome=await call(request, support.set_account_status, person_id, **body.arguments()))


@person_route(
    "/identity-checks",
    Permission.IDENTITY_CHECK,
    IdentityCheckOut,
    "Registrar conferência presencial de documento",
    *ACTION_ERRORS,
    status_code=201,
)
async def identity_check(request: Request, person_id: int, body: IdentityCheckIn) -> IdentityCheckOut:
    result = await call(request, support.record_identity_check, person_id, **body.arguments())
    return IdentityCheckOut(trust_before=result.trust_before, trust_after=result.trust_after)


@person_route(
    "/second-factor-removals",
    Permission.SECOND_FACTOR_REMOVE,
    OutcomeOut,
    "Remover a verificação em duas etapas (supervisor, após conferência presencial)",
    *ACTION_ERRORS,
)
async def remove_second_factors(request: Request, person_id: int, body: Reasoned) -> OutcomeOut:
    removed = await call(request, support.remove_second_factors, person_id, **body.arguments())
    return OutcomeOut(outcome="removed" if removed else "none")


class FaceReferenceOut(BaseModel):
    outcome: str = Field(description="created | replaced | deleted | none")


class FaceReviewOut(BaseModel):
    account_id: str
    requested_at: datetime


@route(
    "POST",
    "/people/{person_id}/face-reference",
    Permission.IDENTITY_CHECK,
    status_code=201,
    response_model=FaceReferenceOut,
    summary="Guardar a foto de referência tirada na agência (após a conferência do documento)",
    responses=error_responses(401, 403, 404, 409, 413, 415, 422),
    description="multipart/form-data: `photo` (JPEG ou PNG), `reason`, `reason_text`.",
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["photo", "reason"],
        "properties": {"photo": {"type": "string", "format": "binary"},
                       "reason": {"type": "string"}, "reason_text": {"type": "string"}}}}}}},
)
async def face_capture(request: Request, person_id: int) -> FaceReferenceOut:
    from guarita.edge.uploads import read_photo
    from guarita.services.support import face_reference

    photo, fields = await read_photo(request)
    outcome = await call(request, face_reference.capture_reference, person_id, photo,
                         support.parse_reason(fields.get("reason"), fields.get("reason_text")))
    return FaceReferenceOut(outcome=outcome)


@route(
    "DELETE",
    "/people/{person_id}/face-reference",
    Permission.CONTACTS,
    response_model=FaceReferenceOut,
    summary="Apagar a referência facial a pedido da pessoa (LGPD art. 18 VI)",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def face_delete(request: Request, person_id: int, reason: str,
                      reason_text: str | None = None) -> FaceReferenceOut:
    from guarita.services.support import face_reference

    outcome = await call(request, face_reference.delete_reference, person_id,
                         support.parse_reason(reason, reason_text))
    return FaceReferenceOut(outcome=outcome)


@route("GET", "/face-reviews", Permission.DASHBOARD, response_model=list[FaceReviewOut],
       summary="Pedidos de revisão humana de recusas da validação facial (LGPD art. 20)")
async def face_reviews(request: Request) -> list[FaceReviewOut]:
    from guarita.services.support import face_reference

    found = await face_reference.review_requests(request.app.state.runtime)
    return [FaceReviewOut(account_id=r.account_id, requested_at=r.requested_at) for r in found]


@route("GET", "/dashboard", Permission.DASHBOARD, summary="Painel dos últimos 30 dias")
async def dashboard(request: Request, response: Response) -> dict:
    board = await dashboard_service.build(request.app.state.runtime)
    return board.as_json()
