"""What the desk may read of a person, masked until a caller check passes (docs/support-desk.md ›
What an agent does: "Results are masked").

The CPF is what callers prove themselves with, so it is never shown in full; the card number only
through its audited reveal; contacts in full once the person is opened.
"""

from __future__ import annotations

from guarita.domain import identifiers as ids
from guarita.domain.identifiers import IdentifierKind

_PARTICLES = {"da", "de", "do", "das", "dos", "e", "di", "du", "del", "van", "von"}


def mask_name(name: str) -> str:
    """``Maria da Conceição Silva`` → ``Maria da C. S.``: enough to tell people apart in a list,
    not enough to read a full name to a caller who does not know it."""
    parts = (name or "").split()
    if not parts:
        return ""
    shown = [parts[0]]
    for part in parts[1:]:
        shown.append(part if part.lower() in _PARTICLES else f"{part[0]}.")
    return " ".join(shown)


def mask(kind: str, value: str | None) -> str | None:
    if not value:
        return None
    if kind == IdentifierKind.CPF:
        return ids.mask_cpf(value)
    if kind == IdentifierKind.CARD:
        return ids.mask_card(value)
    if kind == IdentifierKind.EMAIL:
        return ids.mask_email(value)
    if kind == IdentifierKind.PHONE:
        return ids.mask_phone(value)
    return "***"


def shown(kind: str, value: str | None, unmasked: bool) -> str | None:
    """What the desk may read: contacts in full once opened; the CPF and the card never here
    (the CPF is what callers prove themselves with; the card only through its audited reveal)."""
    if not value:
        return None
    if unmasked and kind == IdentifierKind.EMAIL:
        return value
    if unmasked and kind == IdentifierKind.PHONE:
        return ids.format_phone(value)
    return mask(kind, value)


def subject_of(beneficiary_id: int, account_id: str | None) -> str:
    """The audit subject: the account when there is one, so the person sees it in their history."""
    return account_id or f"beneficiary:{beneficiary_id}"
