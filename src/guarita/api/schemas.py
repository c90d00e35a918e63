"""Request and response bodies of the JSON API (the contract the mobile app relies on)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    code: str = Field(examples=["invalid_credentials"])
    message: str = Field(examples=["Identificação ou senha incorretas."])
    field: str | None = None
    model_config = ConfigDict(extra="allow")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorEnvelope, "description": "Erro com código estável"} for status in statuses}


class Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=1024)


class RegistrationRequest(Strict):
    card_number: str = Field(max_length=64, examples=["1234 5678 9012"])
    cpf: str | None = Field(default=None, max_length=32, description="null quando não possui CPF")
    birth_date: str = Field(max_length=32, examples=["1950-03-04", "04/03/1950"])
    password: str = Field(max_length=1024)
    password_confirmation: str = Field(max_length=1024)


class SignInRequest(Strict):
    identifier: str = Field(max_length=254, description="CPF, número da carteirinha ou e-mail")
    password: str = Field(max_length=1024)


class PasswordChangeRequest(Strict):
    current_password: str = Field(max_length=1024)
    password: str = Field(max_length=1024)
    password_confirmation: str = Field(max_length=1024)


class IdentifierOut(BaseModel):
    id: int
    kind: str
    value: str
    verified: bool
    login_enabled: bool


class AccountOut(BaseModel):
    id: str
    name: str
    masked_cpf: str | None
    card_number: str | None
    trust_level: str
    identifiers: list[IdentifierOut]


class LoginEventOut(BaseModel):
    at: datetime
    succeeded: bool
    ip: str | None
    device: str | None


class MeOut(AccountOut):
    recent_logins: list[LoginEventOut]


class SessionOut(BaseModel):
    session_token: str
    expires_at: datetime
    account: AccountOut
