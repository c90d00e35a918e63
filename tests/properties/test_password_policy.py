"""Properties of the password policy (domain/passwords.py; SECURITY.md › Passwords): length
is the only composition rule, counted after NFC; nothing is truncated; common passwords and the
person's own data are refused in any case, accent or spacing; any text whatever gets either the
normalised password or ``weak_password`` with its reasons, explained in pt-BR.

The fixed examples of each reason are in tests/accounts/test_registration.py.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.hashing import Argon2Parameters, Hasher
from guarita.domain.passwords import (
    PasswordContext,
    PasswordPolicy,
    WeakReason,
    common_passwords,
    fold,
    normalize,
)
from guarita.services.demo import cpf_from_number

POLICY = PasswordPolicy(min_length=15, max_length=128)
# Words that cannot collide with the common list or anybody's data below.
WORDS = ["jabuticaba", "mandacaru", "pirarucu", "tamarindo", "xique", "carnaúba", "açaí",
         "maçã", "coração", "canção", "pé", "ônibus", "árvore", "guaraná"]
phrases = st.lists(st.sampled_from(WORDS), min_size=1, max_size=10).map(" ".join)
cpfs = st.integers(0, 10**9 - 1).map(cpf_from_number).filter(lambda c: len(set(c)) > 1)


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(phrases)
def test_length_is_the_only_composition_rule(phrase):
    reasons = POLICY.problems(phrase)
    assert (WeakReason.TOO_SHORT in reasons) == (len(unicodedata.normalize("NFC", phrase)) < 15)
    assert WeakReason.COMMON not in reasons and WeakReason.CONTAINS_PERSONAL_DATA not in reasons


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(phrases)
def test_nfc_and_nfd_spellings_are_the_same_password(phrase):
    """Typed on a phone (often NFC) or pasted from a Mac (NFD): one password, one length."""
    nfd = unicodedata.normalize("NFD", phrase)
    assert normalize(nfd) == normalize(phrase) == unicodedata.normalize("NFC", phrase)
    assert POLICY.problems(nfd) == POLICY.problems(phrase)


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(st.integers(129, 400))
def test_over_the_maximum_is_refused_and_64_is_always_accepted(length):
    assert WeakReason.TOO_LONG in POLICY.problems("x" * length)
    assert POLICY.problems(
        "o bem-te-vi canta na goiabeira do quintal da casa amarela de vovó"[:64]) == []


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(st.sampled_from(sorted(common_passwords())),
       st.sampled_from([str.lower, str.upper, str.title]))
def test_common_passwords_are_refused_in_any_case(common, case):
    assert WeakReason.COMMON in POLICY.problems(case(common))


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(cpfs, phrases, st.sampled_from(["plain", "dotted", "spaced"]), st.booleans())
def test_a_password_with_the_persons_cpf_is_refused_however_written(cpf, phrase, style, before):
    written = {"plain": cpf, "dotted": f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}",
               "spaced": f"{cpf[:3]} {cpf[3:6]} {cpf[6:9]} {cpf[9:]}"}[style]
    password = f"{written} {phrase}" if before else f"{phrase} {written}"
    assert WeakReason.CONTAINS_PERSONAL_DATA in POLICY.problems(password, PasswordContext(cpf=cpf))


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(st.dates(min_value=date(1920, 1, 1), max_value=date(2008, 12, 31)), phrases,
       st.sampled_from(["%d/%m/%Y", "%d%m%Y", "%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y"]))
def test_a_password_with_the_birth_date_is_refused_in_any_common_format(birth, phrase, fmt):
    password = f"{phrase} {birth.strftime(fmt)}"
    reasons = POLICY.problems(password, PasswordContext(birth_date=birth))
    assert WeakReason.CONTAINS_PERSONAL_DATA in reasons


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(st.sampled_from(["Conceição", "Gonçalves", "Magalhães", "Araújo", "Brandão"]), phrases,
       st.sampled_from([str.lower, str.upper, lambda s: fold(s)]))
def test_name_parts_are_refused_without_case_or_accents(surname, phrase, spell):
    password = f"{phrase} {spell(surname)}"
    context = PasswordContext(name=f"Maria {surname} da Silva")
    assert WeakReason.CONTAINS_PERSONAL_DATA in POLICY.problems(password, context)


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(st.text(max_size=200))
def test_any_text_is_the_normalised_password_or_weak_password_with_reasons(text):
    try:
        value = POLICY.check(text, PasswordContext(cpf="52998224725", name="José da Silva"))
    except GuaritaError as error:
        assert error.code is ErrorCode.WEAK_PASSWORD and error.field == "password"
        reasons = error.details["reasons"]
        assert reasons and set(reasons) <= {r.value for r in WeakReason}
        explained = [POLICY.explain(WeakReason(r)) for r in reasons]
        assert error.message and all(part in error.message for part in explained)
    else:
        assert value == normalize(text)


@pytest.fixture(scope="module")
def hasher():  # noqa: ANN201
    # The production parameters (argon2id m=19456 KiB, t=2, p=1), one thread.
    return Hasher(Argon2Parameters(), max_workers=1)


@settings(max_examples=8, deadline=None)
@given(st.integers(72, 200), st.randoms(use_true_random=False))
def test_nothing_is_truncated_a_change_after_the_72nd_character_matters(hasher, length, rng):
    """bcrypt stops at 72 bytes; the policy accepts 128 characters, so every one must count."""
    base = "".join(rng.choice("abcdefghij klmnop") for _ in range(length))
    other = base[:-1] + ("x" if base[-1] != "x" else "y")
    stored = hasher.hash_sync(base)
    assert hasher.verify_sync(stored, base)
    assert not hasher.verify_sync(stored, other)


def test_the_shipped_common_list_has_ten_thousand_entries():
    assert len(common_passwords()) >= 9_000
    sample = random.Random(7).sample(sorted(common_passwords()), 50)
    assert all(WeakReason.COMMON in POLICY.problems(p) for p in sample)


# -- patterns at any length (NIST SP 800-63B-4 §3.1.1.2: repetitive or sequential characters) --
PATTERNS = [
    "123456789012345", "1234567890" * 12, "987654321098765", "abcdefghijklmnopqrstu",
    "111111111111111", "aaaaaaaaaaaaaaab", "123123123123123", "abc123abc123abc123",
    "senhasenhasenha", "qwertyuiopasdfgh", "zxcvbnmasdfghjkl", "1qaz2wsx3edc4rfv5tgb",
    "qwertyuiopasdfghjklzxcvbnm",
]


@pytest.mark.parametrize("password", PATTERNS)
def test_sequences_repeats_and_keyboard_walks_are_refused_at_any_length(password):
    reasons = POLICY.problems(password)
    assert reasons == [WeakReason.PREDICTABLE] or WeakReason.COMMON in reasons, reasons
    with pytest.raises(GuaritaError) as error:
        POLICY.check(password)
    # One plain reason, said once.
    assert error.value.message.count("caracteres") <= 1
    assert "padrão fácil de adivinhar" in error.value.message or WeakReason.COMMON in reasons


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(st.integers(15, 128), st.sampled_from("a1Z ."))
def test_one_character_repeated_is_refused_whatever_the_length(length, char):
    assert WeakReason.PREDICTABLE in POLICY.problems(char * length)


@settings(deadline=None)  # zxcvbn takes ~70 ms on a 64-character phrase
@given(st.lists(st.sampled_from(WORDS), min_size=3, max_size=10, unique=True).map(" ".join))
def test_phrases_of_different_words_are_not_patterns(phrase):
    if len(phrase) >= 15:
        assert WeakReason.PREDICTABLE not in POLICY.problems(phrase)


def test_a_short_password_gets_its_length_reason_once():
    with pytest.raises(GuaritaError) as error:
        POLICY.check("curta")
    assert error.value.details["reasons"] == ["too_short"]
    assert error.value.message.count("pelo menos 15 caracteres") == 1
