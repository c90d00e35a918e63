"""Esqueci minha senha at the service layer (docs/recovery.md; SECURITY.md › Recovery)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import recovery
from guarita.services.login import sign_in
from guarita.storage.audit import RequestContext, verify
from guarita.storage.tables import Account, AccountIdentifier, OutboxMessage, Session
from guarita.storage.types import utcnow
from tests.accounts.test_login import legacy, registered
from tests.support.captcha import solve
from tests.support.factories import STRONG

CTX = RequestContext(ip="198.51.100.9", user_agent="pytest")
NEW = "outra frase nova para a conta"


async def last_code(runtime, to: str) -> str:  # noqa: ANN001
    async with runtime.db.transaction() as s:
        message = (await s.execute(select(OutboxMessage).where(OutboxMessage.to == to)
                                   .order_by(OutboxMessage.id.desc()))).scalars().first()
    return re.search(r"\b(\d{6})\b", message.text).group(1)


async def started(runtime, identifier):  # noqa: ANN001
    return await recovery.start(runtime, identifier, solve(runtime.settings), CTX)


async def test_recovery_by_email_end_to_end(runtime):
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    assert [m.id for m in flow.methods] == ["email", "sms"] and all(m.destination is None for m in flow.methods)
    await sign_in(runtime, b.card_number, STRONG, CTX)  # a session that must end
    status = await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    assert status.state == "code_sent" and status.attempts_left == 5
    code = await last_code(runtime, b.email)
    verified = await recovery.submit_code(runtime, flow.recovery_id, code, CTX)
    assert verified.state == "verified" and verified.recovery_id != flow.recovery_id
    with pytest.raises(GuaritaError) as stale:  # the token that started the flow cannot finish it
        await recovery.set_password(runtime, flow.recovery_id, NEW, NEW, CTX)
    assert stale.value.code is ErrorCode.RECOVERY_EXPIRED
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)
    await sign_in(runtime, b.card_number, NEW, CTX)
    with pytest.raises(GuaritaError):
        await sign_in(runtime, b.card_number, STRONG, CTX)
    async with runtime.db.transaction() as s:
        ended = (await s.execute(select(Session).where(Session.ended_at.is_not(None)))).scalars().all()
        templates = [m.template for m in (await s.execute(select(OutboxMessage))).scalars()]
        assert (await verify(s)).ok
    assert len(ended) >= 1
    assert templates.count("password_reset") == 2  # e-mail and SMS: every verified contact


async def test_recovery_by_sms(runtime):
    b = await registered(runtime)
    flow = await started(runtime, b.card_number)
    await recovery.request_code(runtime, flow.recovery_id, "sms", CTX)
    code = await last_code(runtime, b.phone)
    verified = await recovery.submit_code(runtime, flow.recovery_id, f"{code[:3]} {code[3:]}", CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)
    await sign_in(runtime, b.cpf, NEW, CTX)


async def test_unknown_and_known_follow_identical_answers(runtime):
    b = await registered(runtime, phone=None)
    answers = []
    for identifier, method in (("00011122233", "email"), (b.cpf, "sms"), (b.cpf, "email")):
        flow = await started(runtime, identifier)
        status = await recovery.request_code(runtime, flow.recovery_id, method, CTX)
        with pytest.raises(GuaritaError) as wrong:
            await recovery.submit_code(runtime, flow.recovery_id, "000000", CTX)
        answers.append(([m.__dict__ for m in flow.methods], status.state, status.attempts_left,
                        wrong.value.code, wrong.value.message))
    assert answers[0] == answers[1] == answers[2]


async def test_masked_contacts_only_when_enabled(runtime):
    b = await registered(runtime)
    runtime.settings.recovery.show_masked_contacts = True
    flow = await started(runtime, b.cpf)
    assert [m.destination for m in flow.methods] == ["m***@e***.com", "(61) *****-4567"]


async def test_wrong_codes_end_the_flow_after_five(runtime):
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    code = await last_code(runtime, b.email)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(GuaritaError) as exc:
            await recovery.submit_code(runtime, flow.recovery_id, wrong, CTX)
        assert exc.value.code is ErrorCode.INVALID_CODE and exc.value.details["attempts_left"] == left
    with pytest.raises(GuaritaError) as exc:
        await recovery.submit_code(runtime, flow.recovery_id, wrong, CTX)
    assert exc.value.code is ErrorCode.TOO_MANY_ATTEMPTS
    with pytest.raises(GuaritaError) as exc:  # even the right code is refused now
        await recovery.submit_code(runtime, flow.recovery_id, code, CTX)
    assert exc.value.code is ErrorCode.TOO_MANY_ATTEMPTS


async def test_resend_limits_and_new_code_does_not_reset_attempts(runtime):
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    with pytest.raises(GuaritaError) as exc:
        await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    assert exc.value.code is ErrorCode.CODE_RESEND_TOO_SOON and 1 <= exc.value.details["retry_after"] <= 60
    with pytest.raises(GuaritaError):
        await recovery.submit_code(runtime, flow.recovery_id, "999999", CTX)
    first = await last_code(runtime, b.email)
    with time_machine.travel(utcnow() + timedelta(seconds=61)):
        status = await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
        assert status.attempts_left == 4  # not reset by a new code
        second = await last_code(runtime, b.email)
        if first != second:
            with pytest.raises(GuaritaError):  # the old code no longer works
                await recovery.submit_code(runtime, flow.recovery_id, first, CTX)
    with time_machine.travel(utcnow() + timedelta(seconds=122)):
        await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    with time_machine.travel(utcnow() + timedelta(seconds=183)):
        with pytest.raises(GuaritaError) as exc:
            await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
        assert exc.value.code is ErrorCode.TOO_MANY_ATTEMPTS  # 3 codes per flow at most


async def test_code_expires_after_ten_minutes(runtime):
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    code = await last_code(runtime, b.email)
    with time_machine.travel(utcnow() + timedelta(minutes=10, seconds=1)):
        with pytest.raises(GuaritaError) as exc:
            await recovery.submit_code(runtime, flow.recovery_id, code, CTX)
        assert exc.value.code is ErrorCode.INVALID_CODE


async def test_flow_expires(runtime):
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    with time_machine.travel(utcnow() + timedelta(minutes=31)):
        with pytest.raises(GuaritaError) as exc:
            await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
        assert exc.value.code is ErrorCode.RECOVERY_EXPIRED and exc.value.status == 410


async def test_same_code_twenty_times_at_once_succeeds_once(runtime):
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    code = await last_code(runtime, b.email)
    runtime.settings.rate_limits.code = "1000/300"
    results = await asyncio.gather(
        *(recovery.submit_code(runtime, flow.recovery_id, code, CTX) for _ in range(20)),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) == 1, results
    assert all(isinstance(r, GuaritaError) for r in results if r not in wins)


async def test_legacy_person_recovers_by_cpf_then_signs_in_with_cpf_and_email(runtime):
    b, account_id = await legacy(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    verified = await recovery.submit_code(runtime, flow.recovery_id, await last_code(runtime, b.email), CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)
    await sign_in(runtime, b.cpf, NEW, CTX)
    await sign_in(runtime, b.email, NEW, CTX)
    async with runtime.db.transaction() as s:
        assert not (await s.get(Account, account_id)).legacy


async def test_recovery_clears_lockout_and_reenables_disabled_password(runtime):
    b = await registered(runtime)
    async with runtime.db.transaction() as s:
        account = (await s.execute(select(Account))).scalar_one()
        account.password_disabled_at = utcnow()
    for _ in range(6):
        with pytest.raises(GuaritaError):
            await sign_in(runtime, b.card_number, "errada errada errada", CTX)
    flow = await started(runtime, b.cpf)  # never blocked by the lockout
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    verified = await recovery.submit_code(runtime, flow.recovery_id, await last_code(runtime, b.email), CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)
    await sign_in(runtime, b.card_number, NEW, CTX)


async def test_password_cannot_be_set_before_the_code(runtime):
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    with pytest.raises(GuaritaError) as exc:
        await recovery.set_password(runtime, flow.recovery_id, NEW, NEW, CTX)
    assert exc.value.code is ErrorCode.FLOW_STATE_INVALID


async def test_not_me_link_locks_the_account_once(runtime):
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    verified = await recovery.submit_code(runtime, flow.recovery_id, await last_code(runtime, b.email), CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)
    async with runtime.db.transaction() as s:
        message = (await s.execute(select(OutboxMessage).where(OutboxMessage.template == "password_reset",
                                                                OutboxMessage.channel == "email"))).scalar_one()
    token = re.search(r"nao-fui-eu\?token=([\w-]+)", message.text).group(1)
    assert await recovery.lock_link_valid(runtime, token)
    await recovery.lock_by_owner(runtime, token, CTX)
    with pytest.raises(GuaritaError) as exc:
        await sign_in(runtime, b.card_number, NEW, CTX)
    # Nobody gets in; who knows the password is told the account is locked and to call.
    assert exc.value.code is ErrorCode.ACCOUNT_LOCKED
    with pytest.raises(GuaritaError) as exc:
        await sign_in(runtime, b.card_number, "não é a senha nova", CTX)
    assert exc.value.code is ErrorCode.INVALID_CREDENTIALS
    with pytest.raises(GuaritaError):
        await recovery.lock_by_owner(runtime, token, CTX)  # single use
    assert not await recovery.lock_link_valid(runtime, token)


@pytest.mark.parametrize("captcha_kind", ["missing", "wrong", "replayed", "expired"])
async def test_captcha_refused(runtime, captcha_kind):
    solution = solve(runtime.settings)
    if captcha_kind == "replayed":
        await recovery.start(runtime, "00011122233", solution, CTX)
    value = {"missing": None, "wrong": "bm90IGEgc29sdXRpb24=", "replayed": solution, "expired": solution}[captcha_kind]
    travel = time_machine.travel(utcnow() + timedelta(minutes=11)) if captcha_kind == "expired" else None
    if travel:
        travel.start()
    try:
        with pytest.raises(GuaritaError) as exc:
            await recovery.start(runtime, "00011122233", value, CTX)
    finally:
        if travel:
            travel.stop()
    assert exc.value.code is ErrorCode.CAPTCHA_INVALID


async def test_support_started_recovery_sends_to_the_chosen_contact(runtime):
    b = await registered(runtime)
    async with runtime.db.transaction() as s:
        phone = (await s.execute(select(AccountIdentifier).where(AccountIdentifier.kind == "phone"))).scalar_one()
    flow = await recovery.start_for_account(runtime, phone.account_id, phone.id, CTX)
    code = await last_code(runtime, b.phone)
    verified = await recovery.submit_code(runtime, flow.recovery_id, code, CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)
    await sign_in(runtime, b.card_number, NEW, CTX)
