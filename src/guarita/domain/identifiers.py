"""Identifiers a beneficiary is known by: CPF, card number, e-mail, phone, and the birth date.

Pure functions that normalise user input into the one canonical form stored and compared, or
raise :class:`GuaritaError` with the code of the field. CPF check digits follow the Receita
Federal algorithm (python-stdnum ``br.cpf``); sequences of one repeated digit pass that algorithm
but are never issued, so they are rejected here as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.br import cpf as stdnum_cpf

from guarita.domain.errors import ErrorCode, GuaritaError

_SEPARATORS = re.compile(r"[\s.\-/]")
MIN_BIRTH_YEAR = 1900


class IdentifierKind(StrEnum):
    CPF = "cpf"
    CARD = "card"
    EMAIL = "email"
    PHONE = "phone"


def normalize_cpf(raw: str, field: str = "cpf") -> str:
    """``123.456.789-09`` or ``12345678909`` → ``12345678909``."""
    digits = _SEPARATORS.sub("", raw or "")
    if (
        len(digits) != 11
        or not digits.isdigit()
        or len(set(digits)) == 1
        or not stdnum_cpf.is_valid(digits)
    ):
        raise GuaritaError(ErrorCode.INVALID_CPF, field=field)
    return digits


def N_(text: str) -> str:  # noqa: N802 - gettext's name: marked for the catalogues, shown translated
    return text


CPF_OR_NO_CPF = N_("Informe o CPF ou marque \u201cNão possui CPF\u201d.")


def cpf_or_none(raw: str | None, no_cpf: bool, field: str = "cpf") -> str | None:
    """The CPF of a form that has a "Não possui CPF" box (DESIGN.md › Cadastro).

    Either answer is accepted, also without JavaScript (which clears the field when the box is
    ticked): a valid CPF typed wins, even with the box ticked; the box alone means no CPF; a
    blank field without the box asks for one or the other — it is not an "invalid" CPF.
    """
    typed = (raw or "").strip()
    if typed:
        try:
            return normalize_cpf(typed, field=field)
        except GuaritaError:
            if no_cpf:
                return None
            raise
    if no_cpf:
        return None
    raise GuaritaError(ErrorCode.INVALID_CPF, message=CPF_OR_NO_CPF, field=field)


def is_cpf(raw: str) -> bool:
    try:
        normalize_cpf(raw)
    except GuaritaError:
        return False
    return True


def normalize_card(raw: str, min_length: int = 6, max_length: int = 20, field: str = "card_number") -> str:
    """Card numbers are digits; people type them with spaces, dots and dashes."""
    digits = _SEPARATORS.sub("", raw or "")
    if not digits.isdigit() or not min_length <= len(digits) <= max_length:
        raise GuaritaError(ErrorCode.INVALID_CARD_NUMBER, field=field)
    return digits


def normalize_email(raw: str, field: str = "email") -> str:
    """Validated syntax; the whole address lower-cased so comparison is case-insensitive.

    RFC 5321 lets the local part be case-sensitive, but no real mailbox provider treats it so,
    and people type their address in every case; one account per address matters more.
    """
    value = (raw or "").strip()
    if len(value) > 254:
        raise GuaritaError(ErrorCode.INVALID_EMAIL, field=field)
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise GuaritaError(ErrorCode.INVALID_EMAIL, field=field) from exc
    return result.normalized.lower()


def normalize_phone(raw: str, field: str = "phone") -> str:
    """A Brazilian number with DDD, any punctuation → E.164 (``+5561912341234``)."""
    value = (raw or "").strip()
    if not value or len(value) > 32:
        raise GuaritaError(ErrorCode.INVALID_PHONE, field=field)
    try:
        parsed = phonenumbers.parse(value, "BR")
    except phonenumbers.NumberParseException as exc:
        raise GuaritaError(ErrorCode.INVALID_PHONE, field=field) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise GuaritaError(ErrorCode.INVALID_PHONE, field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def parse_birth_date(raw: str | date, today: date | None = None, field: str = "birth_date") -> date:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY``; not in the future, not before 1900."""
    if isinstance(raw, date):
        value = raw
    else:
        text = (raw or "").strip()
        value = None
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                value = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
        if value is None:
            raise GuaritaError(ErrorCode.INVALID_BIRTH_DATE, field=field)
    today = today or date.today()
    if value > today or value.year < MIN_BIRTH_YEAR:
        raise GuaritaError(ErrorCode.INVALID_BIRTH_DATE, field=field)
    return value


@dataclass(frozen=True)
class Identifier:
    kind: IdentifierKind
    value: str


def recognize(raw: str, card_min: int = 6, card_max: int = 20) -> Identifier:
    """What a person typed in the one "CPF, carteirinha ou e-mail" field.

    An ``@`` means e-mail; 11 digits with valid CPF check digits mean CPF; other digits mean a
    card number. A card number of 11 digits that happens to pass the CPF check is tried as a CPF
    first: the services then also look it up as a card (``candidates``).
    """
    text = (raw or "").strip()
    if "@" in text:
        return Identifier(IdentifierKind.EMAIL, normalize_email(text, field="identifier"))
    if is_cpf(text):
        return Identifier(IdentifierKind.CPF, normalize_cpf(text))
    try:
        return Identifier(
            IdentifierKind.CARD, normalize_card(text, card_min, card_max, field="identifier")
        )
    except GuaritaError as exc:
        raise GuaritaError(ErrorCode.INVALID_IDENTIFIER, field="identifier") from exc


def candidates(raw: str, card_min: int = 6, card_max: int = 20) -> list[Identifier]:
    """Every identifier the input could be, most likely first (see :func:`recognize`)."""
    first = recognize(raw, card_min, card_max)
    found = [first]
    if first.kind is IdentifierKind.CPF:
        try:
            found.append(Identifier(IdentifierKind.CARD, normalize_card(raw, card_min, card_max)))
        except GuaritaError:
            pass
    return found


def mask_cpf(cpf: str) -> str:
    """``***.456.789-**`` as gov.br shows it (LGPD: the middle digits only)."""
    return f"***.{cpf[3:6]}.{cpf[6:9]}-**"


def mask_card(card: str) -> str:
    return "*" * max(len(card) - 4, 0) + card[-4:]


def mask_email(email: str) -> str:
    """``j***@g***.com``."""
    local, _, domain = email.partition("@")
    host, dot, tld = domain.rpartition(".")
    if not host:
        host, tld, dot = domain, "", ""
    return f"{local[:1]}***@{host[:1]}***{dot}{tld}"


def mask_phone(e164: str) -> str:
    """``(61) *****-1234``."""
    national = e164.removeprefix("+55")
    return f"({national[:2]}) *****-{national[-4:]}"


def format_cpf(cpf: str) -> str:
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"


def format_phone(e164: str) -> str:
    parsed = phonenumbers.parse(e164, "BR")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
