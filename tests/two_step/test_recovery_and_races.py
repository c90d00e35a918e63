"""Recovery does not bypass the second factor (SECURITY.md › Recovery), and one TOTP code sent
twice at once has one winner (SECURITY.md › Reliability: races), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import recovery, second_step
from guarita.services.login import sign_in
from tests.recovery.test_recovery_service import last_code, started
from tests.two_step.helpers import CTX, next_step_code, password_step, with_totp

NEW = "mar e serra"  # 11 characters: the account keeps its second factor


async def test_recovery_by_email_asks_for_the_second_factor_before_the_new_password(runtime):
    b, _, secret, codes = await with_totp(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    proven = await recovery.submit_code(
        runtime, flow.recovery_id, await last_code(runtime, b.email), CTX
    )
    assert proven.state == "second_factor"
    assert [m.id for m in proven.second_factors] == ["totp", "recovery_code"]
    with pytest.raises(GuaritaError) as early:
        await recovery.set_password(runtime, proven.recovery_id, NEW, NEW, CTX)
    assert early.value.code == ErrorCode.FLOW_STATE_INVALID
    with pytest.raises(GuaritaError):
        await recovery.submit_second_factor(
            runtime, proven.recovery_id, "totp", {"code": "000000"}, CTX
        )
    done = await recovery.submit_second_factor(
        runtime, proven.recovery_id, "totp", {"code": next_step_code(secret)}, CTX
    )
    assert done.state == "verified"
    await recovery.set_password(runtime, proven.recovery_id, NEW, NEW, CTX)
    assert (await sign_in(runtime, b.card_number, NEW, CTX)).pending is not None


async def test_a_recovery_code_also_ends_the_recovery(runtime):
    b, _, _, codes = await with_totp(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "sms", CTX)
    proven = await recovery.submit_code(
        runtime, flow.recovery_id, await last_code(runtime, b.phone), CTX
    )
    await recovery.submit_second_factor(
        runtime, proven.recovery_id, "recovery_code", {"code": codes[3]}, CTX
    )
    await recovery.set_password(runtime, proven.recovery_id, NEW, NEW, CTX)


async def test_the_channel_the_recovery_used_is_not_a_second_factor(runtime):
    b, _, _, _ = await with_totp(runtime)
    runtime.settings.mfa.allow_code_factor = True
    try:
        flow = await started(runtime, b.cpf)
        await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
        proven = await recovery.submit_code(
            runtime, flow.recovery_id, await last_code(runtime, b.email), CTX
        )
        offered = [m.id for m in proven.second_factors]
        assert "email" not in offered and "sms" in offered
        with pytest.raises(GuaritaError) as refused:
            await recovery.submit_second_factor(
                runtime, proven.recovery_id, "email", {"code": "123456"}, CTX
            )
        assert refused.value.code == ErrorCode.METHOD_UNAVAILABLE
    finally:
        runtime.settings.mfa.allow_code_factor = False


async def test_the_same_totp_code_twice_at_once_has_one_winner(runtime):
    b, _, secret, _ = await with_totp(runtime)
    first = (await password_step(runtime, b)).pending
    second = (await password_step(runtime, b)).pending
    code = next_step_code(secret)
    results = await asyncio.gather(
        second_step.verify(runtime, first.pending_id, "totp", {"code": code}, CTX),
        second_step.verify(runtime, second.pending_id, "totp", {"code": code}, CTX),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, GuaritaError)]
    assert len(won) == 1 and len(lost) == 1 and lost[0].code == ErrorCode.INVALID_CODE
