"""Robustness of the registry import's row reader (DESIGN.md › Beneficiary CSV: "never stops at
a bad row"): whatever a spreadsheet puts in a row, the row is either stored in canonical form or
rejected with its line and a plain reason — never another exception, never a half-parsed row.

The spelling properties of valid rows are in tests/registry/test_rows.py; this adds arbitrary
text in every column, and the rows a person would get wrong.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from guarita.domain.identifiers import normalize_card, normalize_cpf, normalize_email
from guarita.services.registry_file import COLUMNS, RawRow
from guarita.services.registry_rows import RegistryRow, RowRejected
from tests.registry.test_rows import NORMALISE, TODAY, beneficiaries, spellings

cell = st.text(max_size=60) | st.sampled_from(["", " ", "0", "00000000000", "31/02/1950",
                                                "1950-13-01", "nobody@", "+55", "$2b$10$x"])


@given(st.lists(cell, min_size=len(COLUMNS), max_size=len(COLUMNS)), st.integers(2, 10**6))
@example(["123456", "", "1950-01-01", "Ana", "", "", ""], 2)
@example(["\x00123456", "", "1950-01-01", "Ana", "", "", ""], 3)
def test_any_row_is_stored_canonically_or_rejected_with_its_line(fields, line):
    try:
        row = NORMALISE(RawRow(line, fields))
    except RowRejected as rejected:
        assert rejected.line == line
        text = str(rejected)
        assert text and "\x00" not in text
        return
    assert isinstance(row, RegistryRow) and row.line == line
    # What is stored is already canonical: normalising it again changes nothing.
    assert normalize_card(row.card_number) == row.card_number
    assert row.cpf is None or normalize_cpf(row.cpf) == row.cpf
    assert row.email is None or normalize_email(row.email) == row.email
    assert row.birth_date <= TODAY and row.name == row.name.strip()


@given(st.data(), beneficiaries(), st.sampled_from(["card", "cpf", "birth"]))
def test_a_valid_row_with_one_field_broken_is_rejected_naming_that_field(data, person, broken):
    fields = data.draw(spellings(person))
    column = {"card": 0, "cpf": 1, "birth": 2}[broken]
    if broken == "cpf" and not person["cpf"]:
        person_cpf = "52998224725"
        fields[1] = person_cpf[:-1] + str((int(person_cpf[-1]) + 1) % 10)
    else:
        fields[column] = {"card": "12ab34", "cpf": "123.456.789-00", "birth": "30/02/1950"}[broken]
    try:
        NORMALISE(RawRow(7, fields))
    except RowRejected as rejected:
        reason = str(rejected).lower()
        assert {"card": "carteirinha", "cpf": "cpf", "birth": "nascimento"}[broken] in reason
        assert rejected.line == 7
    else:
        raise AssertionError(f"a linha com {broken} quebrado foi aceita: {fields}")


@given(st.lists(cell, max_size=len(COLUMNS) - 1) | st.lists(cell, min_size=len(COLUMNS) + 1,
                                                            max_size=len(COLUMNS) + 3))
def test_a_row_with_the_wrong_number_of_columns_is_rejected(fields):
    try:
        NORMALISE(RawRow(5, fields))
    except RowRejected as rejected:
        assert "colunas" in str(rejected)
    else:
        raise AssertionError("aceita")
