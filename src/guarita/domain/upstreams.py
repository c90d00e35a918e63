"""Outside OpenID providers Guarita trusts to assert a person's CPF (``docs/upstreams.md``).

A *bank* (Meu INSS's "validação pelos dados bancários") and *gov.br* are the same capability:
Guarita as a relying party of a provider that signs the person in and says whose CPF it is. The
kinds differ in where they are offered and in how the CPF arrives (a bank: a claim, ``cpf`` by
default; gov.br: ``sub`` is the CPF).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class UpstreamKind(StrEnum):
    BANK = "bank"    # recovery and proofing: "Validar pelo banco"
    GOVBR = "govbr"  # "Entrar com gov.br"
    OIDC = "oidc"    # any other OpenID provider that asserts a CPF


class UpstreamAuthMethod(StrEnum):
    """How Guarita authenticates at the provider's token endpoint (OpenID Connect Core §9)."""

    CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 - a method name
    CLIENT_SECRET_POST = "client_secret_post"  # noqa: S105 - a method name
    PRIVATE_KEY_JWT = "private_key_jwt"  # Open Finance Brasil / FAPI ask for this one


SECRET_METHODS = frozenset({UpstreamAuthMethod.CLIENT_SECRET_BASIC,
                            UpstreamAuthMethod.CLIENT_SECRET_POST})

DEFAULT_SCOPES = {
    UpstreamKind.BANK: "openid cpf",
    # gov.br's own list (Manual de integração do Login Único, "Escopos").
    UpstreamKind.GOVBR: "openid email profile govbr_confiabilidades govbr_confiabilidades_idtoken",
    UpstreamKind.OIDC: "openid",
}
DEFAULT_CPF_CLAIM = {UpstreamKind.BANK: "cpf", UpstreamKind.GOVBR: "sub", UpstreamKind.OIDC: "cpf"}

# A provider id is part of URLs (its JWKS, its logo) and of the forms: short and plain.
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


def provider_id_from(name: str) -> str:
    """``"Banco Exemplo S.A."`` → ``"banco-exemplo-s-a"`` (ASCII, at most 32 characters)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:32].strip("-")
    return slug or "provedor"


def valid_provider_id(value: str) -> bool:
    return bool(_ID.match(value or ""))


def bank_amr(code: str | None) -> str:
    """gov.br's ``amr`` for a bank: ``bank`` + the three-digit COMPE code (``bank001``)."""
    digits = re.sub(r"\D", "", code or "")
    return f"bank{digits.zfill(3)}" if digits else "bank"
