"""One CSV row → stored values: spelling never changes what is stored (properties, no database).

A card typed with dots, a CPF with or without punctuation, a date as AAAA-MM-DD or DD/MM/AAAA,
an e-mail in capitals, a phone with or without +55: the registry row must normalise to exactly
what the sign-in and registration forms produce from the same values.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from guarita.services.demo import cpf_from_number
from guarita.services.registry_file import COLUMNS, CheckedFile, RawRow
from guarita.services.registry_rows import (
    CardLimits,
    RegistryRow,
    RowNormaliser,
    name_search_key,
    normalise_name,
)

FILE = CheckedFile(
    path=Path("cadastro.csv"), size=0, sha256="", delimiter=",",
    positions={column: index for index, column in enumerate(COLUMNS)}, width=len(COLUMNS),
)
TODAY = date(2026, 11, 21)
NORMALISE = RowNormaliser(FILE, CardLimits(6, 20), TODAY)
DDD = [11, 21, 27, 31, 41, 48, 51, 61, 62, 71, 79, 81, 85, 91, 92, 98]
LETTERS = "abcdefghijklmnopqrstuvwxyzáàâãéêíóôõúüçÁÂÃÉÊÍÓÔÕÚÇ"


# -- what a valid row is, and the ways people spell it -------------------------------------------


@st.composite
def beneficiaries(draw) -> dict:  # noqa: ANN001
    words = st.text(LETTERS, min_size=1, max_size=12)
    return {
        "card": draw(st.text("0123456789", min_size=6, max_size=20)),
        "cpf": draw(st.none() | st.integers(0, 10**9 - 1).map(cpf_from_number).filter(
            lambda cpf: len(set(cpf)) > 1
        )),
        "birth": draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY)),
        "name": " ".join(draw(st.lists(words, min_size=1, max_size=5))),
        "email": draw(st.none() | st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z0-9]{1,8})?",
                                                fullmatch=True).map(lambda s: s + "@example.com")),
        "phone": draw(st.none() | st.tuples(
            st.sampled_from(DDD), st.sampled_from("6789"), st.text("0123456789", min_size=7,
                                                                   max_size=7),
        ).map(lambda t: f"{t[0]}9{t[1]}{t[2]}")),
    }


@st.composite
def spellings(draw, person: dict) -> list[str]:  # noqa: ANN001
    """One CSV row for ``person``, each field in one of the spellings people use."""
    card = person["card"]
    if draw(st.booleans()):  # dots or spaces every few digits, as printed on a card
        step = draw(st.integers(2, 4))
        card = draw(st.sampled_from([".", " ", "-"])).join(
            card[i:i + step] for i in range(0, len(card), step)
        )
    cpf = person["cpf"] or ""
    if cpf:
        cpf = draw(st.sampled_from([
            cpf,
            f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}",
            f"{cpf[:3]} {cpf[3:6]} {cpf[6:9]} {cpf[9:]}",
        ]))
    birth = person["birth"]
    birth_text = draw(st.sampled_from([birth.strftime("%Y-%m-%d"), birth.strftime("%d/%m/%Y")]))
    name = person["name"]
    if draw(st.booleans()):
        name = f"  {name.replace(' ', '   ')}\t"
    if draw(st.booleans()):
        name = unicodedata.normalize("NFD", name)  # macOS and some exports decompose accents
    email = person["email"] or ""
    if email and draw(st.booleans()):
        email = f" {email.upper()} "
    phone = person["phone"] or ""
    if phone:
        ddd, number = phone[:2], phone[2:]
        phone = draw(st.sampled_from([
            phone, f"({ddd}) {number[:5]}-{number[5:]}", f"+55 {ddd} {number}", f"0{ddd}{number}",
        ]))
    return [card, cpf, birth_text, name, email, phone, ""]


def expected(person: dict) -> tuple:  # noqa: ANN001
    name = unicodedata.normalize("NFC", person["name"])
    return (
        person["card"], person["cpf"], person["birth"], name, name_search_key(name),
        person["email"], f"+55{person['phone']}" if person["phone"] else None, None,
    )


def stored(row: RegistryRow) -> tuple:
    return (row.card_number, row.cpf, row.birth_date, row.name, row.name_search, row.email,
            row.phone, row.legacy_password_hash)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), person=beneficiaries())
def test_every_spelling_of_a_valid_row_normalises_to_the_same_values(data, person):
    first = NORMALISE(RawRow(2, data.draw(spellings(person))))
    second = NORMALISE(RawRow(3, data.draw(spellings(person))))
    assert stored(first) == stored(second) == expected(person)
    assert first.compared() == second.compared()


# -- names ---------------------------------------------------------------------------------------


def test_name_search_key_drops_accents_and_case():
    assert name_search_key("Maria da Conceição") == "maria da conceicao"
    assert name_search_key("JOÃO ÁVILA ÜBER") == "joao avila uber"
    assert name_search_key("Ana") == "ana"


def test_names_are_nfc_with_single_spaces():
    decomposed = unicodedata.normalize("NFD", "José")
    assert normalise_name(f"  {decomposed}\t da\n Silva ") == "José da Silva"


@given(st.text(LETTERS + " ", min_size=1, max_size=80))
def test_search_key_never_keeps_combining_marks_and_is_idempotent(name):
    key = name_search_key(name)
    assert not any(unicodedata.combining(ch) for ch in key)
    assert name_search_key(key) == key
