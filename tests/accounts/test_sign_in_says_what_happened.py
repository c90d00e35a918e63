"""Sign-in tells people what happened, once the password is known to be right, and warns
before the lockout (SECURITY.md › Throttling and lockout; › Account enumeration):

* a completed recovery opens sign-in by the card and the CPF the registry ties to the person
  and by the contact that received the code, whatever identifier was typed;
* the right password with an identifier not yet open is recorded as such, not as a wrong one;
* from two tries left, the answer says how many remain — the same for unknown identifiers;
* a locked or disabled account that types the right password is told so, and what to do;
  with a wrong password it gets the answer everybody gets.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import recovery
from guarita.services.account import view
from guarita.services.login import sign_in
from guarita.storage.tables import Account, AccountIdentifier, AuditEvent
from guarita.storage.types import utcnow
from tests.accounts.test_login import CTX, legacy, registered
from tests.recovery.test_recovery_service import last_code, started
from tests.support.factories import STRONG

NEW = "outra frase nova para a conta"


async def _recover(runtime, typed: str, method: str, to: str) -> None:  # noqa: ANN001
    flow = await started(runtime, typed)
    await recovery.request_code(runtime, flow.recovery_id, method, CTX)
    verified = await recovery.submit_code(runtime, flow.recovery_id, await last_code(runtime, to), CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)


async def test_a_recovery_by_card_opens_the_cpf_and_the_email_that_got_the_code(runtime):
    b, account_id = await legacy(runtime)
    await _recover(runtime, b.card_number, "email", b.email)
    for identifier in (b.card_number, b.cpf, b.email):
        await sign_in(runtime, identifier, NEW, CTX)
    shown = await view(runtime, account_id)
    assert all(i.login_enabled for i in shown.identifiers if i.kind in ("card", "cpf", "email"))
    async with runtime.db.transaction() as s:
        assert not (await s.get(Account, account_id)).legacy


async def test_a_recovery_by_sms_opens_the_cpf_but_not_an_email_that_got_nothing(runtime):
    b, account_id = await legacy(runtime)
    async with runtime.db.transaction() as s:
        s.add(AccountIdentifier(account_id=account_id, kind="phone", value="+5561991234567",
                                verified_at=utcnow(), login_enabled=False))
    await _recover(runtime, b.card_number, "sms", "+5561991234567")
    await sign_in(runtime, b.cpf, NEW, CTX)
    with pytest.raises(GuaritaError) as exc:
        await sign_in(runtime, b.email, NEW, CTX)
    assert exc.value.code is ErrorCode.IDENTIFIER_NOT_VERIFIED


async def test_the_right_password_on_a_closed_identifier_is_not_recorded_as_wrong(runtime):
    b, account_id = await legacy(runtime)
    with pytest.raises(GuaritaError):
        await sign_in(runtime, b.cpf, "senha antiga do portal", CTX)
    shown = await view(runtime, account_id)
    event = shown.recent_logins[0]
    assert not event.succeeded
    assert (event.reason, event.kind) == ("identifier_not_verified", "cpf")


async def test_tries_left_are_said_once_two_remain_and_alike_for_unknown_identifiers(runtime):
    b = await registered(runtime)
    free = runtime.settings.lockout.free_failures
    for identifier in (b.card_number, "99988877766"):  # known, unknown
        said = []
        for _ in range(free):
            with pytest.raises(GuaritaError) as exc:
                await sign_in(runtime, identifier, "uma senha que não é a dela", CTX)
            assert exc.value.code is ErrorCode.INVALID_CREDENTIALS
            said.append(((exc.value.details or {}).get("attempts_left"), exc.value.message))
        left = [n for n, _ in said]
        assert left == [None] * (free - 3) + [2, 1, 0], left
        assert "Restam 2 tentativas" in said[-3][1] and "Resta 1 tentativa" in said[-2][1]
        assert "espere" in said[-1][1] and "Esqueci minha senha" in said[-1][1]
        with pytest.raises(GuaritaError) as locked:
            await sign_in(runtime, identifier, STRONG, CTX)
        assert locked.value.code is ErrorCode.TOO_MANY_ATTEMPTS


@pytest.mark.parametrize("how", ["disabled", "password_disabled"])
async def test_a_locked_account_with_the_right_password_is_told_what_to_do(runtime, how):
    b = await registered(runtime)
    async with runtime.db.transaction() as s:
        account = (await s.execute(select(Account))).scalar_one()
        if how == "disabled":
            account.status = "disabled"
        else:
            account.password_disabled_at = utcnow()
    with pytest.raises(GuaritaError) as wrong:
        await sign_in(runtime, b.card_number, "uma senha que não é a dela", CTX)
    assert wrong.value.code is ErrorCode.INVALID_CREDENTIALS  # nothing leaks without the password
    with pytest.raises(GuaritaError) as right:
        await sign_in(runtime, b.card_number, STRONG, CTX)
    assert right.value.code is ErrorCode.ACCOUNT_LOCKED
    assert "central de atendimento" in right.value.message
    if how == "password_disabled":
        assert "Esqueci minha senha" in right.value.message
    async with runtime.db.transaction() as s:
        reasons = [e.details.get("reason") for e in (await s.execute(
            select(AuditEvent).where(AuditEvent.tag == AuditTag.LOGIN_FAILED.value))).scalars()]
    assert "account_locked" in reasons


async def test_the_entrar_page_says_the_tries_left_and_what_to_do_when_locked(client, runtime):
    """What a person sees on Entrar: from two tries left the sentence above the form says so;
    with the right password on a disabled account, the account is locked and the central's
    number is a link that calls."""
    from tests.support.html import submit

    b = await registered(runtime)
    free = runtime.settings.lockout.free_failures
    for _ in range(free - 3):
        await submit(client, "/entrar", {"identifier": b.card_number, "password": "não é a senha dela"})
    page = await submit(client, "/entrar", {"identifier": b.card_number, "password": "não é a senha dela"})
    main = page.text[page.text.index("<main"):page.text.index("</main>")]
    assert page.status_code == 401 and "Restam 2 tentativas" in page.text, main
    async with runtime.db.transaction() as s:
        (await s.execute(select(Account))).scalar_one().status = "disabled"
    locked = await submit(client, "/entrar", {"identifier": b.card_number, "password": STRONG})
    assert locked.status_code == 403 and "Sua conta está bloqueada" in locked.text
    assert 'href="tel:' in locked.text[locked.text.index("locked-help"):]
