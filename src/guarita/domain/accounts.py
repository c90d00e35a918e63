"""The words of an account: its status, trust level, contact channels, who holds credentials,
and which identifiers a new account gets (DESIGN.md › What a person can do; docs/architecture.md
› Legacy accounts, Registry contacts are trusted).

Pure Python: registration, the registry import, recovery, the desk and the OpenID provider all
ask here instead of spelling ``"bronze"`` or ``"cpf"`` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from guarita.domain.identifiers import IdentifierKind


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # by the desk, or by the owner's "Não foi você?" link


class StaffStatus(StrEnum):
    """A desk member: pending until the enrolment link is used; disabled by an admin or by the
    100th consecutive failed sign-in."""

    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


class TrustLevel(StrEnum):
    """gov.br's levels (bronze < prata < ouro): how strongly the person's identity was proven."""

    BRONZE = "bronze"
    PRATA = "prata"
    OURO = "ouro"

    @property
    def rank(self) -> int:
        return list(TrustLevel).index(self)

    @classmethod
    def of(cls, value: str | None) -> TrustLevel:
        """A stored value; anything unknown counts as the lowest level (fail closed)."""
        try:
            return cls(value)
        except ValueError:
            return cls.BRONZE


class Channel(StrEnum):
    """Where a one-time code can be delivered; each one is reached through one identifier kind."""

    EMAIL = "email"
    SMS = "sms"

    @property
    def identifier_kind(self) -> IdentifierKind:
        return IdentifierKind.EMAIL if self is Channel.EMAIL else IdentifierKind.PHONE

    @classmethod
    def for_kind(cls, kind: str) -> Channel | None:
        """The channel a contact of ``kind`` receives codes on (None for card and CPF)."""
        if kind == IdentifierKind.EMAIL:
            return cls.EMAIL
        if kind == IdentifierKind.PHONE:
            return cls.SMS
        return None


class PrincipalKind(StrEnum):
    """Who holds a credential or a session: a beneficiary's account or a support-desk member."""

    ACCOUNT = "account"
    STAFF = "staff"


# People sign in with these (DESIGN.md › Entrar); a phone only receives codes.
SIGN_IN_KINDS = frozenset({IdentifierKind.CARD, IdentifierKind.CPF, IdentifierKind.EMAIL})
CONTACT_KINDS = frozenset({IdentifierKind.EMAIL, IdentifierKind.PHONE})


@dataclass(frozen=True)
class PlannedIdentifier:
    kind: IdentifierKind
    value: str
    verified: bool
    login_enabled: bool


def initial_identifiers(
    *, card: str, cpf: str | None, email: str | None, phone: str | None, legacy: bool
) -> list[PlannedIdentifier]:
    """The identifiers a new account gets from its registry record, in the order they are claimed.

    Registry contacts are trusted: the organisation registered them, so they are verified. A phone
    never opens sign-in. A registered account signs in with card, CPF and e-mail; a legacy account
    (imported with its old password) with its card only, and its CPF waits unverified until a
    recovery proves it (DESIGN.md › Legacy accounts).
    """
    planned = [PlannedIdentifier(IdentifierKind.CARD, card, True, True)]
    if cpf:
        planned.append(PlannedIdentifier(IdentifierKind.CPF, cpf, not legacy, not legacy))
    if email:
        planned.append(PlannedIdentifier(IdentifierKind.EMAIL, email, True, not legacy))
    if phone:
        planned.append(PlannedIdentifier(IdentifierKind.PHONE, phone, True, False))
    return planned


def opens_sign_in(kind: str) -> bool:
    return kind in SIGN_IN_KINDS
