"""Two-step verification for the mobile app, over the same services as the pages
(docs/two-step.md › API): the second step of a sign-in, passkey sign-in, and the person's own
second factors under ``/api/v1/me``.

Changing a second factor needs a sign-in or a password confirmation in the last 5 minutes: send
``password`` in the body of the change (or call ``POST /api/v1/me/reauthentication`` first).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from guarita.api.schemas import (
    AccountOut,
    IdentifierOut,
    SessionOut,
    Strict,
)
from guarita.api.security import current_session
from guarita.edge.auth import request_context, runtime_of
from guarita.edge.envelope import error_responses
from guarita.services import account as account_service
from guarita.services import passkey_sign_in, recovery, second_factors, second_step, sessions
from guarita.services import passkeys as passkeys_service
from guarita.services.reauthentication import confirm_password
from guarita.storage.types import utcnow

router = APIRouter(prefix="/api/v1", tags=["duas etapas"])


# -- schemas ----------------------------------------------------------------------------------
class SecondFactorMethodOut(BaseModel):
    id: str = Field(examples=["passkey", "totp", "recovery_code"])
    label: str
    hint: str | None = None


class SecondFactorRequiredOut(BaseModel):
    """Answer of ``POST /api/v1/sessions`` when the account has a second factor."""

    status: str = Field(default="second_factor_required", examples=["second_factor_required"])
    pending_id: str = Field(
        description="vale 5 minutos; use em /sessions/{pending_id}/second-factor"
    )
    methods: list[SecondFactorMethodOut]
    expires_at: datetime


class SecondFactorAnswer(Strict):
    method: str = Field(max_length=16, examples=["totp", "recovery_code", "passkey"])
    code: str | None = Field(default=None, max_length=64)
    credential: dict[str, Any] | None = Field(
        default=None, description="a resposta de navigator.credentials.get() em JSON (passkey)"
    )


class StepOptionsRequest(Strict):
    method: str = Field(max_length=16, examples=["passkey", "email"])


class PublicKeyOptionsOut(BaseModel):
    publicKey: dict[str, Any] = Field(
        description="PublicKeyCredential*Options em JSON (WebAuthn §5.4, §5.5)"
    )  # noqa: N815


class PasskeyAssertion(Strict):
    credential: dict[str, Any] = Field(
        description="a resposta de navigator.credentials.get() em JSON"
    )


class Reauthentication(Strict):
    password: str = Field(max_length=1024)


class ConfirmedBy(Strict):
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="a senha atual, se a última confirmação tiver mais de 5 minutos",
    )


class Removal(ConfirmedBy):
    new_password: str | None = Field(
        default=None,
        max_length=1024,
        description=("só ao remover a última forma, se a senha atual tiver menos de 15 caracteres"),
    )
    new_password_confirmation: str | None = Field(default=None, max_length=1024)


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: str | None
    last_used_at: str | None
    synced: bool


class SecondFactorsOut(BaseModel):
    enabled: bool
    totp: bool
    passkeys: list[PasskeyOut]
    recovery_codes_left: int | None
    recent_authentication: bool = Field(description="pode mudar sem confirmar a senha de novo")


class TotpEnrolmentOut(BaseModel):
    enrolment_id: str
    secret: str = Field(description="a chave em grupos de quatro, para digitar no aplicativo")
    otpauth_uri: str
    expires_at: datetime


class TotpConfirmation(ConfirmedBy):
    enrolment_id: str = Field(max_length=128)
    code: str = Field(max_length=32)


class RecoveryCodesOut(BaseModel):
    codes: list[str] = Field(description="mostre uma vez só; cada código vale uma vez")


class EnrolledOut(BaseModel):
    recovery_codes: list[str] | None = Field(
        default=None, description="os primeiros códigos de recuperação, quando é a primeira forma"
    )


class PasskeyRegistration(ConfirmedBy):
    credential: dict[str, Any] = Field(
        description="a resposta de navigator.credentials.create() em JSON"
    )
    name: str | None = Field(default=None, max_length=60, examples=["Celular da Maria"])


class PasskeyEnrolledOut(EnrolledOut):
    passkey: PasskeyOut


class PasskeyRename(Strict):
    name: str = Field(max_length=60)


class RecoverySecondFactorOut(BaseModel):
    state: str
    expires_at: datetime


# -- helpers ----------------------------------------------------------------------------------
async def _session_out(
    request: Request, account_id: str, token: str, info: sessions.SessionInfo
) -> SessionOut:
    view = await account_service.view(runtime_of(request), account_id, with_logins=False)
    return SessionOut(
        session_token=token,
        expires_at=info.expires_at,
        account=AccountOut(
            id=view.id,
            name=view.name,
            masked_cpf=view.masked_cpf,
            card_number=view.card_number,
            trust_level=view.trust_level,
            identifiers=[
                IdentifierOut(
                    id=i.id,
                    kind=i.kind,
                    value=i.display,
                    verified=i.verified,
                    login_enabled=i.login_enabled,
                )
                for i in view.identifiers
            ],
        ),
    )


async def _confirmed(
    request: Request, current: sessions.SessionInfo, password: str | None
) -> sessions.SessionInfo:
    """Confirms the password when one is sent; the service then finds a recent confirmation."""
    if not password:
        return current
    runtime = runtime_of(request)
    await confirm_password(runtime, current, password, request_context(request))
    return replace(current, reauth_at=utcnow())


def pending_out(pending: second_step.Pending) -> SecondFactorRequiredOut:
    return SecondFactorRequiredOut(
        pending_id=pending.pending_id,
        expires_at=pending.expires_at,
        methods=[SecondFactorMethodOut(**m.__dict__) for m in pending.methods],
    )


# -- sign-in ----------------------------------------------------------------------------------
@router.post(
    "/sessions/passkey/options",
    response_model=PublicKeyOptionsOut,
    summary="Opções para entrar com chave de acesso",
    responses=error_responses(429),
)
async def passkey_options(request: Request) -> PublicKeyOptionsOut:
    """Um desafio novo, sem lista de chaves: o aparelho oferece as chaves deste site."""
    return PublicKeyOptionsOut(
        publicKey=await passkey_sign_in.options(runtime_of(request), request_context(request))
    )


@router.post(
    "/sessions/passkey",
    status_code=201,
    response_model=SessionOut,
    summary="Entrar com chave de acesso",
    responses=error_responses(400, 422, 429),
)
async def passkey_session(body: PasskeyAssertion, request: Request) -> SessionOut:
    done = await passkey_sign_in.sign_in(
        runtime_of(request), body.credential, request_context(request)
    )
    return await _session_out(request, done.account_id, done.session_token, done.session)


@router.post(
    "/sessions/{pending_id}/second-factor/options",
    response_model=PublicKeyOptionsOut,
    summary="Preparar a segunda etapa (chave de acesso ou código por contato)",
    responses=error_responses(409, 410, 422, 429),
)
async def second_factor_options(
    pending_id: str, body: StepOptionsRequest, request: Request
) -> PublicKeyOptionsOut:
    """Para ``passkey``: as opções com um desafio novo. Para ``email``/``sms`` (quando a
    organização permite): envia o código e devolve ``publicKey`` vazio."""
    step = await second_step.start_method(
        runtime_of(request), pending_id[:128], body.method, request_context(request)
    )
    return PublicKeyOptionsOut(publicKey=dict(step.challenge or {}))


@router.post(
    "/sessions/{pending_id}/second-factor",
    status_code=201,
    response_model=SessionOut,
    summary="Confirmar a segunda etapa",
    responses=error_responses(400, 409, 410, 422, 429),
)
async def second_factor(pending_id: str, body: SecondFactorAnswer, request: Request) -> SessionOut:
    done = await second_step.verify(
        runtime_of(request),
        pending_id[:128],
        body.method,
        {"code": body.code or "", "credential": body.credential},
        request_context(request),
    )
    return await _session_out(request, done.account_id, done.session_token, done.session)


# -- recovery ---------------------------------------------------------------------------------
@router.post(
    "/recoveries/{recovery_id}/second-factor",
    response_model=RecoverySecondFactorOut,
    summary="Confirmar a segunda etapa na recuperação",
    responses=error_responses(400, 409, 410, 422, 429),
)
async def recovery_second_factor(
    recovery_id: str, body: SecondFactorAnswer, request: Request
) -> RecoverySecondFactorOut:
    """Contas com verificação em duas etapas: depois do código, o aplicativo, a chave de acesso ou
    um código de recuperação; só então a nova senha."""
    status = await recovery.submit_second_factor(
        runtime_of(request),
        recovery_id[:128],
        body.method,
        {"code": body.code or "", "credential": body.credential},
        request_context(request),
    )
    return RecoverySecondFactorOut(state=status.state, expires_at=status.expires_at)


# -- the person's own second factors ----------------------------------------------------------
@router.post(
    "/me/reauthentication",
    status_code=204,
    summary="Confirmar a senha",
    responses=error_responses(401, 422, 429),
)
async def reauthenticate(
    body: Reauthentication,
    request: Request,
    current: sessions.SessionInfo = Depends(current_session),
) -> Response:
    """Vale por 5 minutos para cadastrar ou remover formas de confirmação."""
    await confirm_password(runtime_of(request), current, body.password, request_context(request))
    return Response(status_code=204)


@router.get(
    "/me/second-factors",
    response_model=SecondFactorsOut,
    summary="Verificação em duas etapas",
    responses=error_responses(401),
)
async def second_factors_of(
    request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> SecondFactorsOut:
    found = await second_factors.summary(runtime_of(request), current.account_id, current)
    return SecondFactorsOut(
        enabled=found.enabled,
        totp=found.totp,
        passkeys=[PasskeyOut(**p.__dict__) for p in found.passkeys],
        recovery_codes_left=found.recovery_codes_left,
        recent_authentication=found.recent,
    )


@router.post(
    "/me/second-factors/totp",
    status_code=201,
    response_model=TotpEnrolmentOut,
    summary="Começar o cadastro do aplicativo autenticador",
    responses=error_responses(401, 422, 423, 429),
)
async def totp_start(
    body: ConfirmedBy, request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> TotpEnrolmentOut:
    current = await _confirmed(request, current, body.password)
    enrolment = await second_factors.start_totp(
        runtime_of(request), current, request_context(request)
    )
    return TotpEnrolmentOut(
        enrolment_id=enrolment.enrolment_id,
        secret=enrolment.secret,
        otpauth_uri=enrolment.uri,
        expires_at=enrolment.expires_at,
    )


@router.post(
    "/me/second-factors/totp/confirmation",
    response_model=EnrolledOut,
    summary="Confirmar o aplicativo autenticador com o primeiro código",
    responses=error_responses(400, 401, 409, 410, 422, 423, 429),
)
async def totp_confirm(
    body: TotpConfirmation,
    request: Request,
    current: sessions.SessionInfo = Depends(current_session),
) -> EnrolledOut:
    current = await _confirmed(request, current, body.password)
    codes = await second_factors.confirm_totp(
        runtime_of(request), current, body.enrolment_id, body.code, request_context(request)
    )
    return EnrolledOut(recovery_codes=codes)


@router.delete(
    "/me/second-factors/totp",
    status_code=204,
    summary="Remover o aplicativo autenticador",
    responses=error_responses(401, 404, 409, 422, 423, 429),
)
async def totp_remove(
    request: Request,
    body: Removal | None = None,
    current: sessions.SessionInfo = Depends(current_session),
) -> Response:
    body = body or Removal()
    current = await _confirmed(request, current, body.password)
    await second_factors.remove_totp(
        runtime_of(request),
        current,
        request_context(request),
        new_password=body.new_password,
        confirmation=body.new_password_confirmation,
    )
    return Response(status_code=204)


@router.post(
    "/me/second-factors/recovery-codes",
    status_code=201,
    response_model=RecoveryCodesOut,
    summary="Gerar novos códigos de recuperação",
    responses=error_responses(401, 422, 423, 429),
)
async def codes(
    body: ConfirmedBy, request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> RecoveryCodesOut:
    """Os códigos antigos deixam de valer."""
    current = await _confirmed(request, current, body.password)
    return RecoveryCodesOut(
        codes=await second_factors.regenerate_codes(
            runtime_of(request), current, request_context(request)
        )
    )


@router.get(
    "/me/passkeys",
    response_model=list[PasskeyOut],
    summary="Chaves de acesso",
    responses=error_responses(401),
)
async def passkeys(
    request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> list[PasskeyOut]:
    found = await second_factors.summary(runtime_of(request), current.account_id, current)
    return [PasskeyOut(**p.__dict__) for p in found.passkeys]


@router.post(
    "/me/passkeys/options",
    response_model=PublicKeyOptionsOut,
    summary="Opções para criar uma chave de acesso",
    responses=error_responses(401, 422, 423, 429),
)
async def passkey_creation_options(
    body: ConfirmedBy, request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> PublicKeyOptionsOut:
    current = await _confirmed(request, current, body.password)
    return PublicKeyOptionsOut(
        publicKey=await passkeys_service.passkey_options(
            runtime_of(request), current, request_context(request)
        )
    )


@router.post(
    "/me/passkeys",
    status_code=201,
    response_model=PasskeyEnrolledOut,
    summary="Cadastrar uma chave de acesso",
    responses=error_responses(400, 401, 409, 422, 423, 429),
)
async def passkey_register(
    body: PasskeyRegistration,
    request: Request,
    current: sessions.SessionInfo = Depends(current_session),
) -> PasskeyEnrolledOut:
    current = await _confirmed(request, current, body.password)
    view, first = await passkeys_service.register_passkey(
        runtime_of(request), current, body.credential, body.name, request_context(request)
    )
    return PasskeyEnrolledOut(passkey=PasskeyOut(**view.__dict__), recovery_codes=first)


@router.patch(
    "/me/passkeys/{passkey_id}",
    response_model=PasskeyOut,
    summary="Renomear uma chave de acesso",
    responses=error_responses(401, 404, 422),
)
async def passkey_rename(
    passkey_id: str,
    body: PasskeyRename,
    request: Request,
    current: sessions.SessionInfo = Depends(current_session),
) -> PasskeyOut:
    view = await passkeys_service.rename_passkey(
        runtime_of(request), current, passkey_id[:128], body.name, request_context(request)
    )
    return PasskeyOut(**view.__dict__)


@router.delete(
    "/me/passkeys/{passkey_id}",
    status_code=204,
    summary="Remover uma chave de acesso",
    responses=error_responses(401, 404, 409, 422, 423, 429),
)
async def passkey_remove(
    passkey_id: str,
    request: Request,
    body: Removal | None = None,
    current: sessions.SessionInfo = Depends(current_session),
) -> Response:
    body = body or Removal()
    current = await _confirmed(request, current, body.password)
    await passkeys_service.remove_passkey(
        runtime_of(request),
        current,
        passkey_id[:128],
        request_context(request),
        new_password=body.new_password,
        confirmation=body.new_password_confirmation,
    )
    return Response(status_code=204)
