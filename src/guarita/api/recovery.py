"""Esqueci minha senha and contact verification for the mobile app (docs/recovery.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from guarita.api.schemas import (
    CaptchaChallenge,
    CodeRequest,
    CodeRequestOut,
    CodeSubmission,
    ContactOut,
    ContactRequest,
    ContactVerificationOut,
    KbaOut,
    KbaRequest,
    MethodOut,
    NewPasswordRequest,
    RecoveryStartOut,
    RecoveryStartRequest,
    RecoveryStatusOut,
    StepOut,
)
from guarita.api.security import current_session
from guarita.edge.auth import request_context, runtime_of
from guarita.edge.envelope import error_responses
from guarita.methods import captcha
from guarita.services import contacts, recovery, recovery_kba, sessions
from guarita.services.reauthentication import confirm_password

router = APIRouter(prefix="/api/v1", tags=["recuperação"])

CODE_ANSWER = (
    "Se houver um contato cadastrado para esta opção, enviamos um código. Ele vale por 10 minutos."
)


@router.get("/captcha", response_model=CaptchaChallenge, summary="Desafio do captcha (ALTCHA)")
async def captcha_challenge(request: Request, response: Response) -> dict:
    response.headers["Cache-Control"] = "no-store"
    return captcha.create_challenge(runtime_of(request).settings)


@router.post("/recoveries", status_code=201, response_model=RecoveryStartOut,
             summary="Começar a recuperação", responses=error_responses(400, 422, 429))
async def start(body: RecoveryStartRequest, request: Request) -> RecoveryStartOut:
    started = await recovery.start(runtime_of(request), body.identifier, body.captcha, request_context(request))
    return RecoveryStartOut(recovery_id=started.recovery_id, expires_at=started.expires_at,
                            methods=[MethodOut(**m.__dict__) for m in started.methods])


@router.post("/recoveries/{recovery_id}/code-requests", status_code=202, response_model=CodeRequestOut,
             summary="Pedir um código", responses=error_responses(409, 410, 422, 429))
async def request_code(recovery_id: str, body: CodeRequest, request: Request) -> CodeRequestOut:
    status = await recovery.request_code(runtime_of(request), recovery_id, body.method, request_context(request))
    return CodeRequestOut(message=CODE_ANSWER, resend_available_at=status.resend_available_at,
                          expires_at=status.expires_at, step=StepOut.of(status.step))


@router.post("/recoveries/{recovery_id}/code", response_model=RecoveryStatusOut,
             summary="Conferir o código", responses=error_responses(400, 409, 410, 429))
async def submit_code(recovery_id: str, body: CodeSubmission, request: Request) -> RecoveryStatusOut:
    status = await recovery.submit_code(runtime_of(request), recovery_id, body.code, request_context(request))
    return RecoveryStatusOut(state=status.state, expires_at=status.expires_at,
                             attempts_left=status.attempts_left, recovery_id=status.recovery_id,
                             second_factors=[MethodOut(id=m.id, label=m.label, destination=m.hint)
                                             for m in status.second_factors])


@router.post("/recoveries/{recovery_id}/password", status_code=204, summary="Criar a nova senha",
             responses=error_responses(409, 410, 422))
async def new_password(recovery_id: str, body: NewPasswordRequest, request: Request) -> Response:
    await recovery.set_password(runtime_of(request), recovery_id, body.password,
                                body.password_confirmation, request_context(request))
    return Response(status_code=204)


@router.post("/recoveries/kba", status_code=201, response_model=KbaOut,
             summary="Recuperar com carteirinha ou e-mail, CPF e data de nascimento",
             responses=error_responses(400, 422, 429))
async def kba(body: KbaRequest, request: Request) -> KbaOut:
    runtime = runtime_of(request)
    started = await recovery_kba.start(runtime, recovery_kba.KbaInput(
        identifier=body.identifier, cpf=body.cpf or "", no_cpf=body.no_cpf or body.cpf is None,
        birth_date=body.birth_date, captcha=body.captcha,
        password=body.password, password_confirmation=body.password_confirmation,
    ), request_context(request))
    return KbaOut(recovery_id=started.recovery_id, expires_at=started.expires_at,
                  message=started.message, completed=runtime.settings.recovery.kba_only)


@router.post("/me/contacts", status_code=201, response_model=ContactVerificationOut,
             summary="Cadastrar ou trocar e-mail ou celular",
             responses=error_responses(401, 403, 409, 422, 423, 429))
async def add_contact(body: ContactRequest, request: Request,
                      current: sessions.SessionInfo = Depends(current_session)) -> ContactVerificationOut:
    """Pede a senha atual; envia um código ao novo contato, que só é salvo depois de confirmado.

    Uma conta prata ou ouro sem prova de identidade recente (banco, rosto, agência) recebe
    ``403 step_up_required``: confirme a identidade em ``/confirmar-identidade`` antes
    (docs/trust-levels.md › Step-up)."""
    runtime = runtime_of(request)
    context = request_context(request)
    await confirm_password(runtime, current, body.password, context)
    started = await contacts.start_verification(runtime, current.account_id, body.kind, body.value,
                                                source="self", context=context)
    return ContactVerificationOut(**started.__dict__)


@router.post("/me/contacts/{verification_id}/verification", response_model=ContactOut,
             summary="Confirmar o código do novo contato", responses=error_responses(400, 401, 409, 410, 423, 429))
async def verify_contact(verification_id: str, body: CodeSubmission, request: Request,
                         current: sessions.SessionInfo = Depends(current_session)) -> ContactOut:
    saved = await contacts.confirm_verification(runtime_of(request), verification_id, body.code,
                                                request_context(request), account_id=current.account_id)
    return ContactOut(id=saved.id, kind=saved.kind, value=saved.value, verified=True)
