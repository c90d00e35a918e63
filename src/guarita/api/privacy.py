"""The person's own sight of their data (LGPD art. 18; docs/privacy.md): who received what, and
the consent ledger. Read-only, over ``services/data_recipients.py``."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from guarita.api.security import current_session
from guarita.edge.auth import runtime_of
from guarita.edge.envelope import error_responses
from guarita.services import data_recipients, sessions

router = APIRouter(prefix="/api/v1", tags=["privacidade"])


class ReleaseOut(BaseModel):
    date: dt.date = Field(description="o dia (no fuso da organização)")
    first_at: dt.datetime = Field(description="o primeiro momento daquele dia em que o app recebeu")
    claims: list[str] = Field(
        description="nomes dos dados (claims OpenID), nunca os valores",
        examples=[["cpf", "name", "email"]],
    )
    via: list[Literal["id_token", "userinfo"]]


class RecipientOut(BaseModel):
    client_id: str
    client_name: str
    legal_basis: Literal["consent", "legal_duty"] = Field(
        description="consent: LGPD art. 7º I; legal_duty: obrigação legal ou contratual"
    )
    legal_basis_text: str | None = Field(description="a lei ou o contrato, quando informado")
    claims: list[str] = Field(description="todos os dados que o app já recebeu")
    releases: list[ReleaseOut] = Field(description="por dia, do mais novo para o mais antigo")


class RecipientsOut(BaseModel):
    recipients: list[RecipientOut]


class ConsentEventOut(BaseModel):
    at: dt.datetime
    action: Literal["granted", "revoked"]
    client_id: str
    client_name: str
    scopes: list[str] = Field(description="os escopos autorizados ou retirados")


class ConsentsOut(BaseModel):
    events: list[ConsentEventOut]


@router.get(
    "/me/data-recipients", response_model=RecipientsOut, summary="Quem recebeu meus dados",
    responses=error_responses(401),
)
async def data_recipients_of_me(
    request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> RecipientsOut:
    """Os aplicativos que receberam dados da pessoa no último ano: quais dados (só os nomes),
    em que dia e com que base legal."""
    found = await data_recipients.recipients(runtime_of(request), current.account_id)
    return RecipientsOut(recipients=[
        RecipientOut(
            client_id=app.client_id, client_name=app.name, legal_basis=app.legal_basis,
            legal_basis_text=app.legal_basis_text, claims=app.claims,
            releases=[ReleaseOut(date=r.on, first_at=r.at, claims=r.claims, via=r.via)
                      for r in app.releases],
        )
        for app in found
    ])


@router.get(
    "/me/consents", response_model=ConsentsOut, summary="Minhas autorizações (consentimentos)",
    responses=error_responses(401),
)
async def consents_of_me(
    request: Request, current: sessions.SessionInfo = Depends(current_session)
) -> ConsentsOut:
    """Cada consentimento dado e retirado no último ano, do mais novo para o mais antigo."""
    entries = await data_recipients.consent_ledger(runtime_of(request), current.account_id)
    return ConsentsOut(events=[
        ConsentEventOut(at=e.at, action=e.action, client_id=e.client_id,
                        client_name=e.client_name, scopes=e.scopes)
        for e in entries
    ])
