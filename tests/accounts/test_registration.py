"""Cadastro at the service layer: every rule of docs/recovery.md › Cadastro."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services.registration import RegistrationInput, register
from guarita.storage.audit import RequestContext, verify
from guarita.storage.tables import Account, AccountIdentifier, AuditEvent, Credential, OutboxMessage
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary, format_cpf

CTX = RequestContext(ip="198.51.100.7", user_agent="pytest")


def form(runtime, b, **changes) -> RegistrationInput:  # noqa: ANN001
    values = dict(card_number=b.card_number, cpf=b.cpf, no_cpf=b.cpf is None,
                  birth_date=b.birth_date.strftime("%d/%m/%Y"), password=STRONG,
                  password_confirmation=STRONG, captcha=solve(runtime.settings))
    values.update(changes)
    return RegistrationInput(**values)


async def count(runtime, model) -> int:  # noqa: ANN001
    async with runtime.db.transaction() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_registration_creates_account_identifiers_session_audit_and_welcome(runtime):
    b = await add_beneficiary(runtime)
    result = await register(runtime, form(runtime, b, cpf=format_cpf(b.cpf)), CTX)
    async with runtime.db.transaction() as s:
        account = await s.get(Account, result.account_id)
        idents = {(i.kind, i.value): i for i in (await s.execute(select(AccountIdentifier))).scalars()}
        credential = (await s.execute(select(Credential))).scalar_one()
        tags = [e.tag for e in (await s.execute(select(AuditEvent))).scalars()]
        messages = (await s.execute(select(OutboxMessage))).scalars().all()
        assert (await verify(s)).ok
    assert account.trust_level == "bronze" and not account.legacy
    assert idents[("card", b.card_number)].login_enabled and idents[("card", b.card_number)].verified_at
    assert idents[("cpf", b.cpf)].login_enabled
    assert idents[("email", "maria@example.com")].login_enabled
    assert idents[("phone", "+5561991234567")].verified_at and not idents[("phone", "+5561991234567")].login_enabled
    assert credential.algorithm == "argon2id" and credential.hash.startswith("$argon2id$")
    assert STRONG not in credential.hash
    assert "account.created" in tags and "account.login.succeeded" in tags
    assert {m.channel for m in messages} == {"email", "sms"} and all(m.template == "welcome" for m in messages)
    assert len(result.session_token) >= 43  # 256 bits in base64url


async def test_without_cpf_matches_a_record_without_cpf(runtime):
    b = await add_beneficiary(runtime, cpf="")
    result = await register(runtime, form(runtime, b, cpf=None, no_cpf=True), CTX)
    assert result.account_id


async def test_no_cpf_box_does_not_match_a_record_that_has_a_cpf(runtime):
    b = await add_beneficiary(runtime)
    with pytest.raises(GuaritaError) as exc:
        await register(runtime, form(runtime, b, cpf=None, no_cpf=True), CTX)
    assert exc.value.code is ErrorCode.BENEFICIARY_NOT_MATCHED


@pytest.mark.parametrize("change", [
    {"birth_date": "05/03/1950"},
    {"card_number": "999888777"},
    {"cpf": "52998224725"},
])
async def test_mismatch_never_names_the_field(runtime, change):
    b = await add_beneficiary(runtime)
    with pytest.raises(GuaritaError) as exc:
        await register(runtime, form(runtime, b, **change), CTX)
    assert exc.value.code is ErrorCode.BENEFICIARY_NOT_MATCHED
    assert exc.value.field is None
    assert await count(runtime, Account) == 0


async def test_field_errors_are_all_reported_at_once(runtime):
    with pytest.raises(GuaritaError) as exc:
        await register(runtime, RegistrationInput("12", "111.111.111-11", False, "31/02/1950", "curta", "outra",
                                                    captcha=solve(runtime.settings)), CTX)
    codes = {e.code for e in exc.value.errors}
    assert codes == {ErrorCode.INVALID_CARD_NUMBER, ErrorCode.INVALID_CPF, ErrorCode.INVALID_BIRTH_DATE,
                     ErrorCode.WEAK_PASSWORD, ErrorCode.PASSWORD_MISMATCH}


@pytest.mark.parametrize(("password", "reason"), [
    ("curta demais", "too_short"),
    ("x" * 129, "too_long"),
    ("maria conceicao e minha senha", "contains_personal_data"),
    ("minha senha 04/03/1950 feliz", "contains_personal_data"),
    ("senha guarita para o portal", "contains_personal_data"),
])
async def test_weak_passwords_with_reasons(runtime, password, reason):
    b = await add_beneficiary(runtime)
    with pytest.raises(GuaritaError) as exc:
        await register(runtime, form(runtime, b, password=password, password_confirmation=password), CTX)
    assert exc.value.code is ErrorCode.WEAK_PASSWORD
    assert reason in exc.value.details["reasons"]
    assert await count(runtime, Account) == 0


async def test_second_registration_answers_like_a_mismatch(runtime):
    b = await add_beneficiary(runtime)
    await register(runtime, form(runtime, b), CTX)
    with pytest.raises(GuaritaError) as exc:
        await register(runtime, form(runtime, b), CTX)
    assert exc.value.code is ErrorCode.BENEFICIARY_NOT_MATCHED


async def test_two_simultaneous_registrations_have_one_winner(runtime):
    b = await add_beneficiary(runtime)
    results = await asyncio.gather(*(register(runtime, form(runtime, b), CTX) for _ in range(2)),
                                   return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, GuaritaError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].code is ErrorCode.BENEFICIARY_NOT_MATCHED
    assert await count(runtime, Account) == 1
    assert await count(runtime, Credential) == 1


async def test_shared_email_stays_with_the_first_account(runtime):
    a = await add_beneficiary(runtime, card="111222333", seed=1)
    b = await add_beneficiary(runtime, card="444555666", seed=2, phone=None)
    await register(runtime, form(runtime, a), CTX)
    await register(runtime, form(runtime, b), CTX)
    async with runtime.db.transaction() as s:
        emails = (await s.execute(select(AccountIdentifier).where(AccountIdentifier.kind == "email"))).scalars().all()
    assert len(emails) == 1


async def test_birth_date_iso_format_accepted(runtime):
    b = await add_beneficiary(runtime, birth=date(1941, 12, 31))
    await register(runtime, form(runtime, b, birth_date="1941-12-31"), CTX)


async def test_cpf_or_the_no_cpf_box_either_answer_without_javascript(runtime):
    """A blank CPF asks for the CPF or the box (not "CPF inválido"); a valid CPF typed wins even
    with the box ticked (the person typed it, then ticked)."""
    b = await add_beneficiary(runtime)
    with pytest.raises(GuaritaError) as exc:
        await register(runtime, form(runtime, b, cpf="", no_cpf=False), CTX)
    assert exc.value.field == "cpf" and "Não possui CPF" in exc.value.message
    assert "inválido" not in exc.value.message
    await register(runtime, form(runtime, b, no_cpf=True), CTX)  # CPF typed and box ticked
    without = await add_beneficiary(runtime, card="555666777", cpf="", seed=9)
    await register(runtime, form(runtime, without, cpf="", no_cpf=True), CTX)
    assert await count(runtime, Account) == 2
