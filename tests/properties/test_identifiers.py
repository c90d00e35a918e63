"""Properties of the identifiers people type (domain/identifiers.py): CPF, card, e-mail, phone,
birth date, and the one "CPF, carteirinha ou e-mail" field.

Spelling never matters, a typo in a CPF never passes, masks never show what they hide, and no
input whatever raises anything but the field's own error (SECURITY.md: every bad input gets a
clear error, never a 500). The CSV side of the same values is in tests/registry/test_rows.py.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.identifiers import (
    IdentifierKind,
    candidates,
    format_cpf,
    mask_cpf,
    mask_email,
    mask_phone,
    normalize_card,
    normalize_cpf,
    normalize_email,
    normalize_phone,
    parse_birth_date,
    recognize,
)
from guarita.services.demo import cpf_from_number

cpfs = st.integers(0, 10**9 - 1).map(cpf_from_number).filter(lambda c: len(set(c)) > 1)
separators = st.sampled_from(["", ".", "-", " ", "/"])
DDD = [11, 21, 27, 31, 41, 48, 51, 61, 62, 71, 79, 81, 85, 91, 92, 98]
mobiles = st.tuples(st.sampled_from(DDD), st.sampled_from("6789"),
                    st.text("0123456789", min_size=7, max_size=7)).map(
    lambda t: f"{t[0]}9{t[1]}{t[2]}")
emails = st.from_regex(
    r"[a-z][a-z0-9]{0,12}([._+][a-z0-9]{1,8})?@[a-z]{2,10}\.(com|org|gov\.br|com\.br)",
    fullmatch=True)


def _spell_cpf(cpf: str, sep: str, style: int) -> str:
    if style == 0:
        return cpf
    if style == 1:
        return format_cpf(cpf)
    return sep.join([cpf[:3], cpf[3:6], cpf[6:9], cpf[9:]])


@given(cpfs, separators, st.integers(0, 2), st.sampled_from(["", " ", "  "]))
def test_any_spelling_of_a_valid_cpf_normalises_to_its_digits(cpf, sep, style, pad):
    spelled = pad + _spell_cpf(cpf, sep, style) + pad
    assert normalize_cpf(spelled.strip()) == cpf
    assert normalize_cpf(normalize_cpf(spelled.strip())) == cpf  # idempotent


@given(cpfs, st.integers(0, 10), st.integers(1, 9))
def test_a_cpf_with_one_digit_mistyped_passes_only_through_the_known_blind_spot(cpf, position,
                                                                              delta):
    """Receita Federal's check digits catch a single-digit typo except where a remainder of 10
    is written as 0: a typo can pass only when a check digit of the real CPF is 0. (Found by
    this property; the registry match, not the check digits, is what protects an account.)"""
    typo = cpf[:position] + str((int(cpf[position]) + delta) % 10) + cpf[position + 1:]
    try:
        normalize_cpf(typo)
    except GuaritaError as refused:
        assert refused.code is ErrorCode.INVALID_CPF
    else:
        assert "0" in cpf[9:] and "0" in typo[9:], (cpf, typo)


@given(st.integers(0, 9))
def test_repeated_digit_cpfs_are_refused_though_their_check_digits_pass(digit):
    with pytest.raises(GuaritaError):
        normalize_cpf(str(digit) * 11)


@given(st.text(max_size=40))
@example("\x00")
@example("١٢٣٤٥٦٧٨٩٠١")  # Arabic-Indic digits: str.isdigit() says yes
def test_anything_typed_as_cpf_is_a_cpf_or_invalid_cpf(text):
    try:
        value = normalize_cpf(text)
    except GuaritaError as error:
        assert error.code is ErrorCode.INVALID_CPF and error.field == "cpf"
    else:
        assert len(value) == 11 and value.isascii() and value.isdigit()


@given(st.text("0123456789", min_size=6, max_size=20), separators)
def test_card_numbers_keep_their_digits_whatever_the_separators(card, sep):
    spelled = sep.join(card[i:i + 3] for i in range(0, len(card), 3))
    assert normalize_card(spelled) == card


@given(st.text(max_size=40))
@example("１２３４５６７")  # full-width digits
@example("²³¹⁴⁵⁶⁷")  # superscripts: isdigit() but not decimal
def test_anything_typed_as_card_is_a_card_or_invalid_card(text):
    try:
        value = normalize_card(text)
    except GuaritaError as error:
        assert error.code is ErrorCode.INVALID_CARD_NUMBER
    else:
        assert 6 <= len(value) <= 20 and value.isdigit()


@given(emails, st.sampled_from([str.lower, str.upper, str.title]), st.sampled_from(["", " "]))
def test_emails_compare_without_case_or_surrounding_spaces(email, case, pad):
    assert normalize_email(pad + case(email) + pad) == email.lower()
    assert normalize_email(normalize_email(email)) == normalize_email(email)


@given(st.text(max_size=80))
@example("a@b")
@example("@" * 300)
def test_anything_typed_as_email_is_an_email_or_invalid_email(text):
    try:
        value = normalize_email(text)
    except GuaritaError as error:
        assert error.code is ErrorCode.INVALID_EMAIL
    else:
        assert "@" in value and value == value.lower() and len(value) <= 254


@given(mobiles, st.integers(0, 4))
def test_brazilian_mobiles_in_any_spelling_give_one_e164(number, style):
    ddd, rest = number[:2], number[2:]
    spelled = [number, f"({ddd}) {rest[:5]}-{rest[5:]}", f"+55 {ddd} {rest}", f"0{ddd}{rest}",
               f"+55 ({ddd}) {rest[:5]} {rest[5:]}"][style]
    e164 = normalize_phone(spelled)
    assert e164 == f"+55{number}"
    assert normalize_phone(e164) == e164


@given(st.text(max_size=40))
def test_anything_typed_as_phone_is_a_phone_or_invalid_phone(text):
    try:
        value = normalize_phone(text)
    except GuaritaError as error:
        assert error.code is ErrorCode.INVALID_PHONE
    else:
        assert value.startswith("+") and value[1:].isdigit()


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 11, 21)))
def test_both_date_formats_give_the_same_birth_date(day):
    today = date(2026, 11, 21)
    assert parse_birth_date(day.strftime("%d/%m/%Y"), today=today) == day
    assert parse_birth_date(day.isoformat(), today=today) == day


@given(st.dates(min_value=date(2026, 11, 22), max_value=date(2200, 1, 1)))
def test_a_birth_date_in_the_future_is_refused(day):
    with pytest.raises(GuaritaError) as refused:
        parse_birth_date(day.strftime("%d/%m/%Y"), today=day - timedelta(days=1))
    assert refused.value.code is ErrorCode.INVALID_BIRTH_DATE


@given(st.text(max_size=30))
def test_anything_typed_as_birth_date_is_a_date_or_invalid(text):
    try:
        parse_birth_date(text)
    except GuaritaError as error:
        assert error.code is ErrorCode.INVALID_BIRTH_DATE


# -- the one field of Entrar and Esqueci minha senha ----------------------------------------------
@given(cpfs, separators, st.integers(0, 2))
def test_a_cpf_in_the_identifier_field_is_recognised_as_cpf(cpf, sep, style):
    found = recognize(_spell_cpf(cpf, sep, style))
    assert (found.kind, found.value) == (IdentifierKind.CPF, cpf)
    # An 11-digit card that passes the CPF check is also tried as a card (docs/recovery.md › Entrar).
    assert [c.kind for c in candidates(cpf)] == [IdentifierKind.CPF, IdentifierKind.CARD]


@given(emails)
def test_an_email_in_the_identifier_field_is_recognised_as_email(email):
    found = recognize(email.upper())
    assert (found.kind, found.value) == (IdentifierKind.EMAIL, email.lower())


@given(st.text("0123456789", min_size=6, max_size=20))
def test_digits_that_are_not_a_cpf_are_a_card(digits):
    assume(len(digits) != 11 or normalize_cpf_or_none(digits) is None)
    found = recognize(digits)
    assert (found.kind, found.value) == (IdentifierKind.CARD, digits)


@given(st.text(max_size=300))
@example("")
@example("   ")
@example("@")
def test_anything_in_the_identifier_field_is_recognised_or_refused_with_its_code(text):
    try:
        found = recognize(text)
    except GuaritaError as error:
        assert error.code in (ErrorCode.INVALID_IDENTIFIER, ErrorCode.INVALID_EMAIL)
        assert error.field == "identifier"
    else:
        assert found.kind in (IdentifierKind.CPF, IdentifierKind.CARD, IdentifierKind.EMAIL)


def normalize_cpf_or_none(text: str) -> str | None:
    try:
        return normalize_cpf(text)
    except GuaritaError:
        return None


# -- masks (LGPD: show only what helps) --------------------------------------------------------
@given(cpfs)
def test_a_masked_cpf_hides_the_first_three_and_the_check_digits(cpf):
    masked = mask_cpf(cpf)
    assert cpf not in masked.replace(".", "").replace("-", "")
    assert masked.startswith("***.") and masked.endswith("-**")


@given(emails)
def test_a_masked_email_keeps_one_letter_of_each_part(email):
    masked = mask_email(email)
    local, _, domain = email.partition("@")
    assert masked.count("***") == 2 and local not in masked.split("@")[0][1:]
    assert masked[0] == local[0]


@given(mobiles)
def test_a_masked_phone_shows_only_the_area_code_and_last_four(number):
    masked = mask_phone(f"+55{number}")
    assert masked == f"({number[:2]}) *****-{number[-4:]}"
