"""Request and response bodies of the JSON API (the contract the mobile app relies on)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=1024)


class RegistrationRequest(Strict):
    card_number: str = Field(max_length=64, examples=["1234 5678 9012"])
    cpf: str | None = Field(default=None, max_length=32, description="null quando não possui CPF")
    birth_date: str = Field(max_length=32, examples=["1950-03-04", "04/03/1950"])
    password: str = Field(max_length=1024)
    password_confirmation: str = Field(max_length=1024)
    captcha: str | None = Field(default=None, max_length=8192,
                                description="solução do ALTCHA (base64), de GET /api/v1/captcha")


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
    hold_until: datetime | None = Field(
        None, description="até quando mudanças de contato, de segunda etapa, de aplicativos "
        "conectados e o pedido de exclusão estão bloqueados por segurança (docs/fraud-guard.md); "
        "null quando não há bloqueio")
    hold_reason: str | None = Field(
        None, description="por que: recovery, desk_contact ou new_device")


class DeviceOut(BaseModel):
    """The device of a session in parts (``kind``: phone, tablet, computer, app or null)."""

    kind: str | None
    brand: str | None
    system: str | None
    browser: str | None
    description: str | None = Field(description="em palavras, em pt-BR")


class ActiveSessionOut(BaseModel):
    """A live session of the account ("Aparelhos conectados agora" in Minha conta)."""

    id: str = Field(description="identifica a sessão nesta lista; não dá acesso a nada")
    current: bool
    signed_in_at: datetime
    last_seen_at: datetime
    device: DeviceOut
    place: str | None = Field(description="cidade aproximada, se houver base GeoIP configurada")


class EndedOut(BaseModel):
    ended: int


class SessionOut(BaseModel):
    session_token: str
    expires_at: datetime
    account: AccountOut


class CaptchaChallenge(BaseModel):
    model_config = ConfigDict(extra="allow")
    parameters: dict[str, Any]
    signature: str


class RecoveryStartRequest(Strict):
    identifier: str = Field(max_length=254, description="CPF, número da carteirinha ou e-mail")
    captcha: str | None = Field(default=None, max_length=8192, description="solução do ALTCHA (base64)")


class ProviderOut(BaseModel):
    """A bank the person may pick (``POST /recoveries/{id}/upstream`` with its ``id``)."""

    id: str
    name: str
    logo_url: str | None = None


class MethodOut(BaseModel):
    id: str
    label: str
    destination: str | None = None
    providers: list[ProviderOut] = []


class RecoveryStartOut(BaseModel):
    recovery_id: str
    methods: list[MethodOut]
    expires_at: datetime


class CodeRequest(Strict):
    method: str = Field(max_length=16, examples=["email", "sms"])


class StepFieldOut(BaseModel):
    name: str
    label: str
    type: str = Field(description="text | password | numeric | date | hidden | checkbox")
    hint: str | None = None
    autocomplete: str | None = None
    inputmode: str | None = None
    required: bool = True
    value: str | None = None


class StepOut(BaseModel):
    """What the chosen method asks for next, as the pages show it (``methods/base.py``)."""

    method: str
    kind: str = Field(description="code_form | knowledge_form | redirect | webauthn_challenge | "
                                  "camera_capture")
    title: str
    text: str | None = None
    fields: list[StepFieldOut] = []
    submit: str
    redirect_url: str | None = None
    challenge: dict[str, Any] | None = None

    @classmethod
    def of(cls, step: Any) -> StepOut | None:
        return cls(**step.as_json()) if step is not None else None


class CodeRequestOut(BaseModel):
    status: str = "accepted"
    message: str
    resend_available_at: datetime | None
    expires_at: datetime
    step: StepOut | None = None


class CodeSubmission(Strict):
    code: str = Field(max_length=32)


class RecoveryStatusOut(BaseModel):
    state: str
    expires_at: datetime
    attempts_left: int
    recovery_id: str = Field(description="o novo identificador da recuperação: use-o para criar a senha "
                                         "(o anterior deixa de valer quando o código é aceito)")
    second_factors: list[MethodOut] = Field(
        default_factory=list,
        description="com state=second_factor: as formas de confirmar a segunda etapa antes da nova senha "
        "(POST /recoveries/{recovery_id}/second-factor)",
    )


class NewPasswordRequest(Strict):
    password: str = Field(max_length=1024)
    password_confirmation: str = Field(max_length=1024)


class KbaRequest(Strict):
    identifier: str = Field(max_length=254, description="número da carteirinha ou e-mail")
    cpf: str | None = Field(default=None, max_length=32,
                            description="null (ou no_cpf) quando não possui CPF")
    no_cpf: bool = Field(default=False, description="“Não possui CPF”, como no formulário")
    birth_date: str = Field(max_length=32)
    captcha: str | None = Field(default=None, max_length=8192)
    password: str | None = Field(default=None, max_length=1024, description="só com recovery.kba_only")
    password_confirmation: str | None = Field(default=None, max_length=1024)


class KbaOut(BaseModel):
    recovery_id: str
    expires_at: datetime
    message: str
    completed: bool = False


class ContactRequest(Strict):
    kind: str = Field(max_length=8, examples=["email", "phone"])
    value: str = Field(max_length=254)
    password: str = Field(max_length=1024, description="a senha atual (nova autenticação)")


class ContactVerificationOut(BaseModel):
    id: str
    kind: str
    destination: str
    expires_at: datetime


class ContactOut(BaseModel):
    id: int
    kind: str
    value: str
    verified: bool
