"""Cadastro, Entrar and Minha conta for the mobile app (docs/recovery.md), over the same services."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from guarita.api.schemas import (
    AccountOut,
    ActiveSessionOut,
    DeviceOut,
    EndedOut,
    IdentifierOut,
    LoginEventOut,
    MeOut,
    PasswordChangeRequest,
    RegistrationRequest,
    SessionOut,
    SignInRequest,
)
from guarita.api.second_factors import SecondFactorRequiredOut, pending_out
from guarita.api.security import current_session
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.edge.auth import request_context, runtime_of
from guarita.edge.envelope import error_responses
from guarita.services import account as account_service
from guarita.services import devices as devices_service
from guarita.services import login as login_service
from guarita.services import registration, sessions

router = APIRouter(prefix="/api/v1", tags=["contas"])


def _account_out(view: account_service.AccountView) -> AccountOut:
    return AccountOut(
        id=view.id, name=view.name, masked_cpf=view.masked_cpf, card_number=view.card_number,
        trust_level=view.trust_level,
        identifiers=[
            IdentifierOut(id=i.id, kind=i.kind, value=i.display, verified=i.verified,
                          login_enabled=i.login_enabled)
            for i in view.identifiers
        ],
    )


@router.post(
    "/registrations", status_code=201, response_model=SessionOut, summary="Cadastro",
    responses=error_responses(400, 422, 429),
)
async def register(body: RegistrationRequest, request: Request) -> SessionOut:
    """Cria a conta de um beneficiário do cadastro da organização e já abre uma sessão.

    Pede o captcha (`GET /api/v1/captcha`). Dados que não conferem e um beneficiário que já tem
    conta recebem a mesma resposta (`beneficiary_not_matched`); no segundo caso, os contatos
    confirmados da conta recebem o aviso "Você já tem uma conta"."""
    runtime = runtime_of(request)
    result = await registration.register(
        runtime,
        registration.RegistrationInput(
            card_number=body.card_number, cpf=body.cpf, no_cpf=body.cpf is None,
            birth_date=body.birth_date, password=body.password,
            password_confirmation=body.password_confirmation, captcha=body.captcha,
        ),
        request_context(request),
    )
    view = await account_service.view(runtime, result.account_id, with_logins=False)
    return SessionOut(session_token=result.session_token, expires_at=result.session.expires_at,
                      account=_account_out(view))


@router.post(
    "/sessions", status_code=201, response_model=SessionOut, summary="Entrar",
    responses={**error_responses(401, 403, 422, 429), 202: {
        "model": SecondFactorRequiredOut,
        "description": "Senha certa; a conta tem verificação em duas etapas: confirme em "
                       "/api/v1/sessions/{pending_id}/second-factor"}},
)
async def sign_in(body: SignInRequest, request: Request) -> SessionOut | JSONResponse:
    """Entra com CPF, carteirinha ou e-mail e senha; devolve o token da sessão, ou
    ``second_factor_required`` (202) com o ``pending_id`` e as formas de confirmar."""
    runtime = runtime_of(request)
    result = await login_service.sign_in(runtime, body.identifier, body.password, request_context(request))
    if result.pending is not None:
        return JSONResponse(pending_out(result.pending).model_dump(mode="json"), status_code=202)
    view = (account_service.view_of(result.account) if result.account is not None
            else await account_service.view(runtime, result.account_id, with_logins=False))
    return SessionOut(session_token=result.session_token, expires_at=result.session.expires_at,
                      account=_account_out(view))


@router.delete(
    "/sessions/current", status_code=204, summary="Sair", responses=error_responses(401),
)
async def sign_out(request: Request, current: sessions.SessionInfo = Depends(current_session)) -> Response:
    await sessions.sign_out(runtime_of(request), current, request_context(request))
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, summary="Minha conta", responses=error_responses(401))
async def me(request: Request, current: sessions.SessionInfo = Depends(current_session)) -> MeOut:
    view = await account_service.view(runtime_of(request), current.account_id)
    base = _account_out(view)
    return MeOut(
        **base.model_dump(),
        recent_logins=[LoginEventOut(at=e.at, succeeded=e.succeeded, ip=e.ip, device=e.device)
                       for e in view.recent_logins],
        hold_until=view.hold.until if view.hold else None,
        hold_reason=view.hold.reason if view.hold else None,
    )


@router.post(
    "/me/password", status_code=204, summary="Trocar senha", responses=error_responses(401, 422, 429),
)
async def change_password(
    body: PasswordChangeRequest, request: Request,
    current: sessions.SessionInfo = Depends(current_session),
) -> Response:
    """Exige a senha atual; encerra as outras sessões e avisa os contatos."""
    await account_service.change_password(
        runtime_of(request), current, body.current_password, body.password,
        body.password_confirmation, request_context(request),
    )
    return Response(status_code=204)


# -- the account's live sessions (Minha conta › Aparelhos conectados agora) --------------------
@router.get(
    "/me/sessions", response_model=list[ActiveSessionOut], summary="Aparelhos conectados",
    responses=error_responses(401),
)
async def list_sessions(
    request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> list[ActiveSessionOut]:
    """As sessões abertas da conta, esta primeiro: aparelho, cidade aproximada (se configurada),
    quando entrou e a última atividade."""
    found = await account_service.devices(runtime_of(request), current)
    return [
        ActiveSessionOut(
            id=d.handle, current=d.current, signed_in_at=d.signed_in_at,
            last_seen_at=d.last_seen_at, place=d.place,
            device=DeviceOut(kind=d.device.kind, brand=d.device.brand, system=d.device.system,
                             browser=d.device.browser,
                             description=devices_service.plain(d.device)),
        )
        for d in found
    ]


@router.delete(
    "/me/sessions/{session_id}", status_code=204, summary="Encerrar uma sessão",
    responses=error_responses(401, 404),
)
async def end_session(
    session_id: str, request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> Response:
    """Encerra outra sessão da conta; os aplicativos em que ela entrou são avisados
    (Back-Channel Logout). Para sair desta, use ``DELETE /api/v1/sessions/current``."""
    ended = await account_service.end_device(
        runtime_of(request), current, session_id, request_context(request)
    )
    if not ended:
        raise GuaritaError(ErrorCode.NOT_FOUND, field="session_id")
    return Response(status_code=204)


@router.post(
    "/me/sessions/end-others", response_model=EndedOut, summary="Sair de todos os outros",
    responses=error_responses(401),
)
async def end_other_sessions(
    request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> EndedOut:
    """Encerra todas as outras sessões da conta (e avisa os aplicativos em que entraram)."""
    ended = await account_service.end_other_devices(
        runtime_of(request), current, request_context(request)
    )
    return EndedOut(ended=ended)
