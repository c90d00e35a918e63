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
from guarita.services import data_export, my_data, sessions

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
