"""One row of the beneficiary CSV → the values stored, or the reasons it is refused.

DESIGN.md › Contracts › Beneficiary CSV. Every identifier goes through the same normaliser the
sign-in and registration forms use (``guarita.domain.identifiers``), so a value imported from the
registry and a value typed by the person compare equal. A row is refused with *every* reason it
has at once (``"CPF inválido; e-mail inválido"``), so the operator fixes the source in one pass.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

from guarita.domain.errors import GuaritaError
from guarita.domain.hashing import UnsupportedHash, algorithm_of
from guarita.domain.identifiers import (
    normalize_card,
    normalize_cpf,
    normalize_email,
    normalize_phone,
    parse_birth_date,
)
from guarita.domain.text import has_bidi_controls
from guarita.services.registry_file import CheckedFile, RawRow

NAME_MAX = 200
HASH_MAX = 255
# A card as shown back to the operator when it is not even a valid card number.
_SHOWN_MAX = 40


def _shown(raw: str) -> str:
    """Raw text fit to print: short, and no control characters (no terminal escapes)."""
    return "".join(ch if ch.isprintable() else "?" for ch in raw[:_SHOWN_MAX])


@dataclass(frozen=True, slots=True)
class CardLimits:
    """``settings.card_min_length``/``card_max_length``, never above the column (20)."""

    minimum: int
    maximum: int


@dataclass(frozen=True, slots=True)
class RegistryRow:
    line: int
    card_number: str
    cpf: str | None
    birth_date: date
    name: str
    name_search: str
    email: str | None
    phone: str | None
    legacy_password_hash: str | None
    social_name: str | None = None
    # False when the file has no ``social_name`` column: the stored one is kept, never cleared
    # by an older export that did not carry it.
    social_name_given: bool = False

    def values(self) -> dict[str, object]:
        """The columns of ``beneficiaries`` this row sets."""
        return {
            "card_number": self.card_number,
            "cpf": self.cpf,
            "birth_date": self.birth_date,
            "name": self.name,
            "name_search": self.name_search,
            "email": self.email,
            "phone": self.phone,
            "legacy_password_hash": self.legacy_password_hash,
            "social_name": self.social_name,
        }

    def keeping(self, stored: tuple[object, ...]) -> RegistryRow:
        """This row with what its file does not carry taken from the stored ``compared``."""
        if self.social_name_given:
            return self
        return replace(self, social_name=stored[COMPARED.index("social_name")])

    def compared(self) -> tuple[object, ...]:
        """The values that decide *unchanged* vs *updated*, in the order of ``COMPARED``."""
        return (
            self.cpf,
            self.birth_date,
            self.name,
            self.name_search,
            self.email,
            self.phone,
            self.legacy_password_hash,
            self.social_name,
        )


# Columns of ``beneficiaries`` compared with :meth:`RegistryRow.compared` (same order).
COMPARED = (
    "cpf", "birth_date", "name", "name_search", "email", "phone", "legacy_password_hash",
    "social_name",
)


class RowRejected(Exception):
    """A row that is not imported: where, which card (as far as readable) and why, in pt-BR."""

    def __init__(self, line: int, card_number: str, reason: str, *, valid_card: bool = False):
        super().__init__(reason)
        self.line = line
        self.card_number = card_number
        self.reason = reason
        # True when ``card_number`` is a normalised card: it still counts for "repeated card".
        self.valid_card = valid_card


def name_search_key(name: str) -> str:
    """Lower case without accents: ``"Conceição"`` → ``"conceicao"``.

    Stored in ``beneficiaries.name_search`` so the support desk finds a person by a prefix typed
    with or without accents; the search must put its query through this same function.
    """
    if name.isascii():  # most names; NFKD leaves ASCII as it is
        return name.lower()[:NAME_MAX]
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()[:NAME_MAX]


def normalise_name(raw: str) -> str:
    """NFC, and runs of spaces, tabs or line breaks made one space (spreadsheets add them)."""
    return " ".join(unicodedata.normalize("NFC", raw).split())


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class RowNormaliser:
    """Turns rows of one checked file into :class:`RegistryRow` (or :class:`RowRejected`).

    Birth dates repeat across a registry (some 30,000 distinct days cover everyone alive), so
    their parsing is memoised per import; every other field is unique enough not to bother.
    """

    def __init__(self, file: CheckedFile, limits: CardLimits, today: date):
        self.file = file
        self.limits = limits
        self.today = today
        self._birth_date = lru_cache(maxsize=65536)(self._parse_birth_date)

    def _parse_birth_date(self, text: str) -> date:
        return parse_birth_date(text, today=self.today)

    def __call__(self, raw: RawRow) -> RegistryRow:
        """The stored form of one row, or :class:`RowRejected` with every reason found."""
        fields = raw.fields
        file, limits = self.file, self.limits
        if fields is None:
            raise RowRejected(raw.line, "", raw.problem or "linha malformada")
        pos = file.positions
        if len(fields) != file.width:
            card = ""
            if len(fields) > pos["card_number"]:
                card = _shown(fields[pos["card_number"]])
            raise RowRejected(
                raw.line, card, f"a linha tem {len(fields)} colunas e o cabeçalho tem {file.width}"
            )
        reasons: list[str] = []

        card_text = fields[pos["card_number"]]
        card: str | None = None
        if not card_text:
            reasons.append("carteirinha em branco")
        else:
            try:
                card = normalize_card(card_text, limits.minimum, limits.maximum)
            except GuaritaError:
                reasons.append(
                    f"carteirinha inválida (só números, de {limits.minimum} a {limits.maximum} "
                    "dígitos)"
                )

        cpf_text = fields[pos["cpf"]]
        cpf: str | None = None
        if cpf_text:
            try:
                cpf = normalize_cpf(cpf_text)
            except GuaritaError:
                reasons.append("CPF inválido")

        birth_text = fields[pos["birth_date"]]
        birth: date | None = None
        if not birth_text:
            reasons.append("data de nascimento em branco")
        else:
            try:
                birth = self._birth_date(birth_text)
            except GuaritaError:
                reasons.append("data de nascimento inválida (use AAAA-MM-DD ou DD/MM/AAAA)")

        name = normalise_name(fields[pos["name"]])
        if not name:
            reasons.append("nome em branco")
        else:
            problem = _name_problem(name)
            if problem:
                reasons.append("nome " + problem)

        social: str | None = None
        if "social_name" in pos:
            social = normalise_name(fields[pos["social_name"]]) or None
            if social is not None:
                problem = _name_problem(social)
                if problem:
                    reasons.append("nome social " + problem)

        email_text = fields[pos["email"]]
        email: str | None = None
        if email_text:
            try:
                email = normalize_email(email_text)
            except GuaritaError:
                reasons.append("e-mail inválido")

        phone_text = fields[pos["phone"]]
        phone: str | None = None
        if phone_text:
            try:
                phone = normalize_phone(phone_text)
            except GuaritaError:
                reasons.append("telefone inválido")

        legacy = fields[pos["legacy_password_hash"]] or None
        if legacy is not None:
            reason = _legacy_hash_problem(legacy)
            if reason:
                reasons.append(reason)

        if reasons:
            shown = card if card is not None else _shown(card_text)
            raise RowRejected(raw.line, shown, "; ".join(reasons), valid_card=card is not None)
        assert card is not None and birth is not None  # otherwise ``reasons`` is not empty
        return RegistryRow(
            line=raw.line,
            card_number=card,
            cpf=cpf,
            birth_date=birth,
            name=name,
            name_search=name_search_key(name),
            email=email,
            phone=phone,
            legacy_password_hash=legacy,
            social_name=social,
            social_name_given="social_name" in pos,
        )


def _name_problem(name: str) -> str | None:
    """What is wrong with a normalised, non-empty name, after "nome" / "nome social"."""
    if len(name) > NAME_MAX:
        return f"com mais de {NAME_MAX} caracteres"
    if _CONTROL.search(name):
        return "com caracteres inválidos"
    if has_bidi_controls(name):
        return "com caracteres de controle de direção do texto (U+202A–202E, U+2066–2069)"
    return None


def _legacy_hash_problem(value: str) -> str | None:
    """A hash Guarita can verify (``domain.hashing.algorithm_of``) and store, or why not."""
    if len(value) > HASH_MAX or not value.isascii() or not value.isprintable() or " " in value:
        return "senha antiga em formato não aceito (caracteres inválidos)"
    try:
        algorithm_of(value)
    except UnsupportedHash as exc:
        return f"senha antiga em formato não aceito ({exc})"
    return None
