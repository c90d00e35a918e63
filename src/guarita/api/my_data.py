"""Meus dados for the app (docs/privacy.md): ``GET /api/v1/me/data`` and the export link, over
the same services as the page."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from guarita.api.schemas import Strict
from guarita.api.security import current_session
from guarita.edge.auth import request_context, runtime_of
from guarita.edge.envelope import error_responses
from guarita.services import data_export, my_data, privacy_requests, sessions

router = APIRouter(prefix="/api/v1", tags=["meus dados"])


class ExportRequest(Strict):
    password: str = Field(max_length=1024, description="a senha atual (confirmação)")
    format: Literal["pdf", "json"] = Field(description="pdf para ler e imprimir; json para outro serviço")


class ExportLinkOut(BaseModel):
    download_url: str = Field(description="vale 15 minutos, uma vez, com o token desta sessão")
    format: str
    expires_at: datetime


@router.get("/me/data", summary="Meus dados", responses=error_responses(401))
async def me_data(request: Request,
                  current: sessions.SessionInfo = Depends(current_session)) -> dict[str, Any]:
    """Tudo o que a Guarita guarda sobre a pessoa (LGPD art. 18 I e II): cadastro,
    identificadores e contatos, comprovações e nível, formas de entrar, aplicativos, sessões e o
    histórico dos últimos 12 meses. Nenhum segredo (senhas, chaves, modelo do rosto)."""
    return await my_data.collect(runtime_of(request), current.account_id)


@router.post("/me/data/exports", status_code=201, response_model=ExportLinkOut,
             summary="Exportar meus dados", responses=error_responses(401, 422, 429))
async def create_export(body: ExportRequest, request: Request,
                        current: sessions.SessionInfo = Depends(current_session)) -> ExportLinkOut:
    """Confirma a senha e devolve um link para baixar os dados em PDF ou JSON (LGPD art. 18 V).
    O link vale 15 minutos, uma só vez, e pede o token da mesma conta."""
    link = await data_export.create_link(runtime_of(request), current, body.password, body.format,
                                         request_context(request))
    return ExportLinkOut(download_url=f"/api/v1/me/data/exports/{link.token}", format=link.format,
                         expires_at=link.expires_at)


@router.get("/me/data/exports/{token}", summary="Baixar a exportação",
            responses={**error_responses(401, 410),
                       200: {"content": {"application/pdf": {}, "application/json": {}},
                             "description": "o arquivo"}})
async def download_export(token: str, request: Request,
                          current: sessions.SessionInfo = Depends(current_session)) -> Response:
    found = await data_export.redeem(runtime_of(request), current.account_id, token,
                                     request_context(request))
    return Response(found.content, media_type=found.media_type, headers={
        "content-disposition": f'attachment; filename="{found.filename}"',
        "cache-control": "no-store",
    })


class PrivacyRequestIn(Strict):
    kind: Literal["correction", "deletion"] = Field(
        description="correction (LGPD art. 18 III) ou deletion (art. 18 IV e VI)")
    what: str | None = Field(default=None, max_length=2000,
                             description="correção: o que está errado e como deveria ser")
    reason: str | None = Field(default=None, max_length=2000, description="exclusão: por quê")


class PrivacyRequestOut(BaseModel):
    id: str
    kind: str
    status: str = Field(description="open, approved ou rejected")
    what: str | None
    reason: str | None
    filed_at: datetime
    decided_at: datetime | None
    decision_reason: str | None


def _request_out(item: privacy_requests.RequestView) -> PrivacyRequestOut:
    return PrivacyRequestOut(id=item.id, kind=item.kind, status=item.status, what=item.what,
                             reason=item.reason, filed_at=item.filed_at, decided_at=item.decided_at,
                             decision_reason=item.decision_reason)


@router.post("/me/data/requests", status_code=201, response_model=PrivacyRequestOut,
             summary="Pedir correção ou exclusão", responses=error_responses(401, 409, 422, 423))
async def file_request(body: PrivacyRequestIn, request: Request,
                       current: sessions.SessionInfo = Depends(current_session)) -> PrivacyRequestOut:
    """Registra o pedido na fila da central; um supervisor decide e a pessoa é avisada por
    e-mail ou SMS. Um pedido de cada tipo em análise por vez (`privacy_request_open`)."""
    item = await privacy_requests.file(runtime_of(request), current.account_id, body.kind,
                                       what=body.what, reason=body.reason,
                                       context=request_context(request))
    return _request_out(item)


@router.get("/me/data/requests", response_model=list[PrivacyRequestOut],
            summary="Meus pedidos de correção e exclusão", responses=error_responses(401))
async def list_requests(request: Request, current: sessions.SessionInfo = Depends(current_session)
                        ) -> list[PrivacyRequestOut]:
    return [_request_out(i) for i in await privacy_requests.of_account(runtime_of(request),
                                                                       current.account_id)]
