"""Entrar at the service layer: identifiers, lockout, legacy accounts, rehash (docs/recovery.md › Entrar)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import bcrypt
import pytest
import time_machine
from sqlalchemy import select

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import throttling
from guarita.services.login import sign_in
from guarita.services.registration import RegistrationInput, register
from guarita.storage.audit import RequestContext
from guarita.storage.tables import Account, AccountIdentifier, Credential
from guarita.storage.types import utcnow
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary, format_cpf

CTX = RequestContext(ip="198.51.100.7", user_agent="pytest")


async def registered(runtime, **kw):  # noqa: ANN001, ANN003
    b = await add_beneficiary(runtime, **kw)
    await register(runtime, RegistrationInput(b.card_number, b.cpf, b.cpf is None,
                                              b.birth_date.isoformat(), STRONG, STRONG,
                                              captcha=solve(runtime.settings)), CTX)
    return b


async def legacy(runtime, password="senha antiga do portal"):  # noqa: ANN001
    """A legacy account as the registry import creates it (card only until a recovery)."""
    from guarita.storage.accounts import new_account_id
    from guarita.storage.types import utcnow

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
    b = await add_beneficiary(runtime, card="555000111", seed=9, legacy_password_hash=hashed)
    async with runtime.db.transaction() as s:
        account = Account(id=new_account_id(), beneficiary_id=b.id, legacy=True)
        s.add(account)
        await s.flush()
        s.add(Credential(account_id=account.id, kind="password", algorithm="bcrypt", hash=hashed))
        s.add(AccountIdentifier(account_id=account.id, kind="card", value=b.card_number,
                                verified_at=utcnow(), login_enabled=True))
        s.add(AccountIdentifier(account_id=account.id, kind="cpf", value=b.cpf, login_enabled=False))
        s.add(AccountIdentifier(account_id=account.id, kind="email", value=b.email,
                                verified_at=utcnow(), login_enabled=False))
    return b, account.id


@pytest.mark.parametrize("how", ["card", "cpf", "cpf_formatted", "email", "email_upper"])
async def test_sign_in_with_each_identifier(runtime, how):
    b = await registered(runtime)
    identifier = {"card": f" {b.card_number[:3]} {b.card_number[3:]} ", "cpf": b.cpf,
                  "cpf_formatted": format_cpf(b.cpf), "email": b.email,
                  "email_upper": b.email.upper()}[how]
    result = await sign_in(runtime, identifier, STRONG, CTX)
    assert result.session_token and result.session.account_id == result.account_id


async def test_password_is_nfc_normalised(runtime):
    await registered(runtime)
    # The same phrase typed with a decomposed accent (NFD) signs in.
    phrase = "uma frase com acentuação é boa"
    b2 = await add_beneficiary(runtime, card="700800900", seed=5, email="ze@example.com", phone=None)
    import unicodedata
    await register(runtime, RegistrationInput(b2.card_number, b2.cpf, False, b2.birth_date.isoformat(),
                                              phrase, phrase, captcha=solve(runtime.settings)), CTX)
    await sign_in(runtime, b2.card_number, unicodedata.normalize("NFD", phrase), CTX)


@pytest.mark.parametrize("identifier", ["00011122233", "ninguem@example.com", "999999999", "987.654.321-00"])
async def test_unknown_and_wrong_password_give_the_same_error(runtime, identifier):
    b = await registered(runtime)
    with pytest.raises(GuaritaError) as unknown:
        await sign_in(runtime, identifier, STRONG, CTX)
    with pytest.raises(GuaritaError) as wrong:
        await sign_in(runtime, b.card_number, "outra frase qualquer longa", CTX)
    assert unknown.value.code is wrong.value.code is ErrorCode.INVALID_CREDENTIALS
    assert unknown.value.message == wrong.value.message and unknown.value.field == wrong.value.field


async def test_lockout_doubles_from_one_minute_and_success_resets(runtime):
    b = await registered(runtime)
    for _ in range(4):
        with pytest.raises(GuaritaError) as exc:
            await sign_in(runtime, b.card_number, "errada errada errada", CTX)
        assert exc.value.code is ErrorCode.INVALID_CREDENTIALS
    with pytest.raises(GuaritaError):
        await sign_in(runtime, b.card_number, "errada errada errada", CTX)  # 5th: wait starts
    with pytest.raises(GuaritaError) as exc:
        await sign_in(runtime, b.cpf, STRONG, CTX)  # even the right password waits, by any identifier
    assert exc.value.code is ErrorCode.TOO_MANY_ATTEMPTS
    assert 1 <= exc.value.details["retry_after"] <= 60
    assert "Tente de novo em 1 minuto" in exc.value.message and "Esqueci minha senha" in exc.value.message
    with time_machine.travel(utcnow() + timedelta(seconds=61)):
        with pytest.raises(GuaritaError):
            await sign_in(runtime, b.card_number, "errada errada errada", CTX)  # 6th → 2 min
        with pytest.raises(GuaritaError) as exc:
            await sign_in(runtime, b.card_number, STRONG, CTX)
        assert exc.value.code is ErrorCode.TOO_MANY_ATTEMPTS and 61 <= exc.value.details["retry_after"] <= 120
    with time_machine.travel(utcnow() + timedelta(seconds=61 + 121)):
        await sign_in(runtime, b.card_number, STRONG, CTX)
        async with runtime.db.transaction() as s:
            assert await throttling.failures(s, f"login:acct:{(await s.execute(select(Account.id))).scalar()}") == 0


async def test_unknown_identifiers_are_throttled_like_known_ones(runtime):
    for _ in range(5):
        with pytest.raises(GuaritaError):
            await sign_in(runtime, "ninguem@example.com", "errada errada errada", CTX)
    with pytest.raises(GuaritaError) as exc:
        await sign_in(runtime, "ninguem@example.com", "errada errada errada", CTX)
    assert exc.value.code is ErrorCode.TOO_MANY_ATTEMPTS


async def test_wait_is_capped_at_one_hour_and_password_disabled_after_100(runtime):
    b = await registered(runtime)
    async with runtime.db.transaction() as s:
        account_id = (await s.execute(select(Account.id))).scalar()
        key = throttling.sign_in_key(account_id)
        for _ in range(98):
            await throttling.record_failure(s, key, runtime.settings.lockout)
    assert throttling.wait_after(60, runtime.settings.lockout) == 3600
    with time_machine.travel(utcnow() + timedelta(hours=2)):
        with pytest.raises(GuaritaError):
            await sign_in(runtime, b.card_number, "errada errada errada", CTX)  # 99
    with time_machine.travel(utcnow() + timedelta(hours=4)):
        with pytest.raises(GuaritaError):
            await sign_in(runtime, b.card_number, "errada errada errada", CTX)  # 100: disabled
    with time_machine.travel(utcnow() + timedelta(hours=6)):
        with pytest.raises(GuaritaError) as exc:
            await sign_in(runtime, b.card_number, STRONG, CTX)
        # The right password no longer signs in; who knows it is told why and what to do.
        assert exc.value.code is ErrorCode.ACCOUNT_LOCKED
        assert "Esqueci minha senha" in exc.value.message
    async with runtime.db.transaction() as s:
        assert (await s.get(Account, account_id)).password_disabled_at is not None


async def test_parallel_failures_are_all_counted(runtime, settings_overrides):
    b = await registered(runtime)
    runtime.settings.lockout.free_failures = 1000  # count only; no waits in the way
    runtime.settings.rate_limits.login = "1000/300"
    results = await asyncio.gather(
        *(sign_in(runtime, b.card_number, f"errada numero {i} bem longa", CTX) for i in range(50)),
        return_exceptions=True,
    )
    assert all(isinstance(r, GuaritaError) for r in results)
    async with runtime.db.transaction() as s:
        account_id = (await s.execute(select(Account.id))).scalar()
        assert await throttling.failures(s, f"login:acct:{account_id}") == 50


async def test_legacy_account_signs_in_with_card_and_is_rehashed(runtime):
    b, account_id = await legacy(runtime)
    await sign_in(runtime, b.card_number, "senha antiga do portal", CTX)
    async with runtime.db.transaction() as s:
        credential = (await s.execute(select(Credential).where(Credential.account_id == account_id))).scalar_one()
    assert credential.algorithm == "argon2id" and credential.hash.startswith("$argon2id$")
    await sign_in(runtime, b.card_number, "senha antiga do portal", CTX)  # and the new hash works


async def test_legacy_cpf_answers_not_verified_only_with_the_right_password(runtime):
    b, _ = await legacy(runtime)
    with pytest.raises(GuaritaError) as wrong:
        await sign_in(runtime, b.cpf, "não é a senha antiga", CTX)
    assert wrong.value.code is ErrorCode.INVALID_CREDENTIALS
    for identifier in (b.cpf, b.email):
        with pytest.raises(GuaritaError) as right:
            await sign_in(runtime, identifier, "senha antiga do portal", CTX)
        assert right.value.code is ErrorCode.IDENTIFIER_NOT_VERIFIED
        assert "Esqueci minha senha" in right.value.message


async def test_disabled_account_gets_invalid_credentials(runtime):
    """Without the right password a disabled account answers like any other; with it, the
    person is told the account is locked (tests/accounts/test_sign_in_says_what_happened.py)."""
    b = await registered(runtime)
    async with runtime.db.transaction() as s:
        (await s.execute(select(Account))).scalar_one().status = "disabled"
    with pytest.raises(GuaritaError) as exc:
        await sign_in(runtime, b.card_number, "não é a senha da conta", CTX)
    assert exc.value.code is ErrorCode.INVALID_CREDENTIALS
    with pytest.raises(GuaritaError) as exc:
        await sign_in(runtime, b.card_number, STRONG, CTX)
    assert exc.value.code is ErrorCode.ACCOUNT_LOCKED


async def test_ip_rate_limit(runtime):
    runtime.settings.rate_limits.login = "3/300"
    for _ in range(3):
        with pytest.raises(GuaritaError) as exc:
            await sign_in(runtime, "ninguem@example.com", "x" * 20, RequestContext(ip="192.0.2.1"))
        assert exc.value.code is ErrorCode.INVALID_CREDENTIALS
    with pytest.raises(GuaritaError) as exc:
        await sign_in(runtime, "outro@example.com", "x" * 20, RequestContext(ip="192.0.2.1"))
    assert exc.value.code is ErrorCode.RATE_LIMITED and exc.value.details["retry_after"] > 0
    with pytest.raises(GuaritaError) as exc:  # another address is not affected
        await sign_in(runtime, "outro@example.com", "x" * 20, RequestContext(ip="192.0.2.2"))
    assert exc.value.code is ErrorCode.INVALID_CREDENTIALS


async def test_parallel_guesses_cannot_slip_past_the_lockout(runtime):
    b = await registered(runtime)
    runtime.settings.rate_limits.login = "1000/300"
    results = await asyncio.gather(
        *(sign_in(runtime, b.card_number, f"errada numero {i} bem longa", CTX) for i in range(40)),
        return_exceptions=True,
    )
    checked = [r for r in results if isinstance(r, GuaritaError) and r.code is ErrorCode.INVALID_CREDENTIALS]
    waited = [r for r in results if isinstance(r, GuaritaError) and r.code is ErrorCode.TOO_MANY_ATTEMPTS]
    assert len(checked) == 5 and len(waited) == 35, (len(checked), len(waited))


async def test_parallel_reauthentication_guesses_share_the_lockout(runtime):
    from guarita.services.reauthentication import confirm_password

    b = await registered(runtime)
    result = await sign_in(runtime, b.card_number, STRONG, CTX)
    results = await asyncio.gather(
        *(confirm_password(runtime, result.session, f"errada numero {i} bem longa", CTX) for i in range(20)),
        return_exceptions=True,
    )
    checked = [r for r in results if isinstance(r, GuaritaError) and r.code is ErrorCode.INVALID_CREDENTIALS]
    assert len(checked) == 5 and all(isinstance(r, GuaritaError) for r in results)


async def test_parallel_sign_ins_keep_the_audit_chain_and_answer_from_their_own_rows(
        runtime, settings_overrides):
    """The success path's one transaction: twenty sign-ins at once each open a live session,
    clear the counter, append ``login_succeeded`` to one unbroken chain, and carry the rows
    the answer shows (the account as ``Minha conta`` reads it)."""
    from guarita.domain.audit_tags import AuditTag
    from guarita.services import account as account_service
    from guarita.services import sessions
    from guarita.storage.audit import verify
    from guarita.storage.tables import AuditEvent

    b = await registered(runtime)
    # Attempts in flight count until proven right: room for twenty at once.
    runtime.settings.lockout.free_failures = 1000
    with pytest.raises(GuaritaError):  # one failure, cleared by the first success
        await sign_in(runtime, b.card_number, "errada mas comprida o bastante", CTX)
    async with runtime.db.read() as s:
        before = (await s.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()))).scalar()
    results = await asyncio.gather(*(sign_in(runtime, b.card_number, STRONG, CTX)
                                     for _ in range(20)))
    assert len({r.session_token for r in results}) == 20
    read = await account_service.view(runtime, results[0].account_id, with_logins=False)
    async with runtime.db.transaction() as s:
        for result in results:
            live = await sessions.load(s, result.session_token, runtime.settings.session)
            assert live is not None and live.account_id == result.account_id
            assert account_service.view_of(result.account) == read
        assert await throttling.failures(s, f"login:acct:{results[0].account_id}") == 0
        succeeded = (await s.execute(select(AuditEvent).where(
            AuditEvent.tag == AuditTag.LOGIN_SUCCEEDED, AuditEvent.subject == results[0].account_id,
            AuditEvent.id > before))).scalars().all()
        assert len(succeeded) == 20 and all(e.details == {"kind": "card"} for e in succeeded)
        assert (await verify(s)).ok
