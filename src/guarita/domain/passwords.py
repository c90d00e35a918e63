"""Password policy: NIST SP 800-63B-4 §3.1.1.2 as SECURITY.md › Passwords sets it.

Length is the only composition rule (15 characters for a password-only account, 8 with a second
factor); at least 64 are accepted and none is truncated; Unicode is NFC-normalised so the same
phrase typed on a phone and on a computer is the same password; spaces count. Rejected: the
10,000 most common passwords (``data/common-passwords.txt``) and anything containing the
person's own data or the service's name. The answer lists every reason at once, so the page can
explain all of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from guarita.domain.errors import ErrorCode, GuaritaError

DATA = Path(__file__).parent / "data" / "common-passwords.txt"
GUIDANCE = "Use uma frase fácil de lembrar, com pelo menos 15 caracteres."


class WeakReason(StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    COMMON = "common"
    CONTAINS_PERSONAL_DATA = "contains_personal_data"


REASON_TEXT = {
    WeakReason.TOO_SHORT: "A senha precisa ter pelo menos {min} caracteres. " + GUIDANCE.replace("15", "{min}"),
    WeakReason.TOO_LONG: "A senha pode ter no máximo {max} caracteres.",
    WeakReason.COMMON: "Esta senha é muito usada e fácil de adivinhar. Escolha outra.",
    WeakReason.CONTAINS_PERSONAL_DATA: (
        "A senha não pode conter seu CPF, carteirinha, data de nascimento, nome ou e-mail."
    ),
}


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def normalize(password: str) -> str:
    """The form that is hashed and compared: NFC, nothing else changed (no trimming)."""
    return unicodedata.normalize("NFC", password)


def fold(text: str) -> str:
    """Case- and accent-insensitive form for comparisons with context words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass
class PasswordContext:
    """What the password must not contain: the person's data and the service's names."""

    cpf: str | None = None
    card_number: str | None = None
    birth_date: date | None = None
    name: str | None = None
    email: str | None = None
    extra_words: list[str] = field(default_factory=list)

    def words(self) -> set[str]:
        found: set[str] = set()
        if self.cpf:
            found.update({self.cpf, self.cpf[:9]})
        if self.card_number:
            found.add(self.card_number)
        if self.birth_date:
            d = self.birth_date
            found.update({
                d.strftime("%d%m%Y"), d.strftime("%Y%m%d"), d.strftime("%d%m%y"),
                d.strftime("%d/%m/%Y"), d.strftime("%Y-%m-%d"), d.strftime("%d-%m-%Y"),
                d.strftime("%d.%m.%Y"),
            })
        if self.name:
            found.update(part for part in re.split(r"[\s\-']+", fold(self.name)) if len(part) >= 4)
        if self.email:
            local = fold(self.email.partition("@")[0])
            found.add(local)
            found.update(part for part in re.split(r"[._+\-]+", local) if len(part) >= 3)
        for word in self.extra_words:
            found.update(part for part in re.split(r"\s+", fold(word)) if len(part) >= 4)
        # Particles of names ("das", "dos") are too common to forbid.
        return {w for w in (fold(x) for x in found) if len(w) >= 3 and w not in _PARTICLES}


_PARTICLES = {"das", "dos", "del", "los", "van", "von"}


def service_words(organisation_name: str) -> list[str]:
    """The names of the service itself, refused in every password (SECURITY.md › Passwords)."""
    return ["guarita", organisation_name]


def person_context(
    organisation_name: str, *, cpf: str | None = None, card_number: str | None = None,
    birth_date: date | None = None, name: str | None = None, email: str | None = None,
) -> PasswordContext:
    """What one person's password must not contain: their own data, e-mail and our names.

    The one builder used wherever a password is chosen (registration, recovery, password change,
    the health-plan form and support-desk members), so the rule cannot drift between them.
    """
    return PasswordContext(cpf=cpf, card_number=card_number, birth_date=birth_date, name=name,
                           email=email, extra_words=service_words(organisation_name))


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 15
    max_length: int = 128

    @classmethod
    def single_factor(cls, min_length: int, max_length: int) -> PasswordPolicy:
        """The policy of a password that is the only factor (NIST SP 800-63B-4 §3.1.1.2: 15)."""
        return cls(min_length=min_length, max_length=max_length)

    def problems(self, password: str, context: PasswordContext | None = None) -> list[WeakReason]:
        value = normalize(password)
        reasons: list[WeakReason] = []
        if len(value) < self.min_length:
            reasons.append(WeakReason.TOO_SHORT)
        if len(value) > self.max_length:
            reasons.append(WeakReason.TOO_LONG)
        folded = fold(value)
        if folded in common_passwords() or folded.replace(" ", "") in common_passwords():
            reasons.append(WeakReason.COMMON)
        if context is not None and _contains_any(folded, value, context.words()):
            reasons.append(WeakReason.CONTAINS_PERSONAL_DATA)
        return reasons

    def check(self, password: str, context: PasswordContext | None = None, field: str = "password") -> str:
        """The normalised password, or ``weak_password`` with every reason."""
        reasons = self.problems(password, context)
        if reasons:
            raise GuaritaError(
                ErrorCode.WEAK_PASSWORD,
                message=" ".join(self.explain(r) for r in reasons),
                field=field,
                details={"reasons": [str(r) for r in reasons]},
            )
        return normalize(password)

    def explain(self, reason: WeakReason) -> str:
        return REASON_TEXT[reason].format(min=self.min_length, max=self.max_length)


def _contains_any(folded: str, raw: str, words: Iterable[str]) -> bool:
    digits = re.sub(r"\D", "", raw)
    for word in words:
        if word in folded:
            return True
        if word.isdigit() and len(word) >= 6 and word in digits:
            return True
    return False
