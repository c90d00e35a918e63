"""Password policy: NIST SP 800-63B-4 §3.1.1.2 as SECURITY.md › Passwords sets it.

Length is the only composition rule (15 characters for a password-only account, 8 with a second
factor); at least 64 are accepted and none is truncated; Unicode is NFC-normalised so the same
phrase typed on a phone and on a computer is the same password; spaces count. Rejected: the
10,000 most common passwords (``data/common-passwords.txt``) and anything containing the
person's own data or the service's name, and passwords made of a pattern — sequences
("123456789012345"), repeats ("aaaa…", "abcabc…") and keyboard walks ("qwertyuiop…") — at any
length, as NIST SP 800-63B-4 §3.1.1.2 asks ("repetitive or sequential characters"). Patterns are
found by zxcvbn (the maintained Python port of Dropbox's estimator): a password whose cheapest
decomposition into patterns needs fewer than 10^10 guesses (zxcvbn's score below 4) is refused.
The answer lists every reason at once, each said once, so the page can explain all of them.
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

import zxcvbn

from guarita.domain.errors import ErrorCode, GuaritaError

DATA = Path(__file__).parent / "data" / "common-passwords.txt"
GUIDANCE = "Use uma frase fácil de lembrar, com pelo menos 15 caracteres."


class WeakReason(StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    COMMON = "common"
    PREDICTABLE = "predictable"
    CONTAINS_PERSONAL_DATA = "contains_personal_data"




def N_(text: str) -> str:  # noqa: N802 - gettext's name for "mark for translation, translate later"
    """Marks a sentence for the catalogues (babel extracts ``N_``); pages translate it."""
    return text


# gettext-style placeholders, so the pages can translate a sentence and then fill it in.
REASON_TEXT = {
    # The length is said once: the field's hint already says GUIDANCE.
    WeakReason.TOO_SHORT: N_(
        "A senha precisa ter pelo menos %(min)s caracteres. Uma frase fácil de lembrar, "
        "com espaços, é o melhor."
    ),
    WeakReason.TOO_LONG: N_("A senha pode ter no máximo %(max)s caracteres."),
    WeakReason.COMMON: N_("Esta senha é muito usada e fácil de adivinhar. Escolha outra."),
    WeakReason.PREDICTABLE: N_(
        "Esta senha segue um padrão fácil de adivinhar, como 123456, aaaa ou qwerty. "
        "Use palavras suas, como uma frase."
    ),
    WeakReason.CONTAINS_PERSONAL_DATA: N_(
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

# zxcvbn's cost grows with length and it stops at 72 characters by default; a pattern long
# enough to matter shows in the first 72.
_PATTERN_WINDOW = 72


def guesses_log10(password: str) -> float:
    """zxcvbn's estimate of the guesses an attacker who knows common patterns needs."""
    return float(zxcvbn.zxcvbn(password[:_PATTERN_WINDOW])["guesses_log10"])


def predictable(password: str, min_guesses_log10: float = 10.0) -> bool:
    """A sequence, repeat, keyboard walk or dictionary run: fewer guesses than the floor."""
    return guesses_log10(password) < min_guesses_log10


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
    # zxcvbn score 4 ("very unguessable"): 10^10 guesses.
    min_guesses_log10: float = 10.0

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
        elif len(reasons) == 0 and predictable(value, self.min_guesses_log10):
            # Only a password of an accepted length is judged by its pattern: a short one already
            # has its reason, and two reasons for "123" would say the same thing twice.
            reasons.append(WeakReason.PREDICTABLE)
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
                details={"reasons": [str(r) for r in reasons], **self.limits()},
            )
        return normalize(password)

    def limits(self) -> dict[str, int]:
        """The numbers the reasons mention (also in the API's error body)."""
        return {"min_length": self.min_length, "max_length": self.max_length}

    def explain(self, reason: WeakReason) -> str:
        return REASON_TEXT[reason] % {"min": self.min_length, "max": self.max_length}


def _contains_any(folded: str, raw: str, words: Iterable[str]) -> bool:
    digits = re.sub(r"\D", "", raw)
    for word in words:
        if word in folded:
            return True
        if word.isdigit() and len(word) >= 6 and word in digits:
            return True
    return False
