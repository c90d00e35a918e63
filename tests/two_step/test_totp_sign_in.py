"""The authenticator app as second factor at the service layer (RFC 6238; docs/two-step.md)."""

from __future__ import annotations

import pytest

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import second_step
from tests.two_step.helpers import CTX, code_at, next_step_code, password_step, with_totp


async def test_password_then_totp_gives_a_session_with_otp_and_mfa(runtime):
    b, _, secret, codes = await with_totp(runtime)
    assert codes is not None and len(codes) == 10
    result = await password_step(runtime, b)
    assert result.session is None and result.pending is not None
    assert [m.id for m in result.pending.methods] == ["totp", "recovery_code"]
    done = await second_step.verify(
        runtime, result.pending.pending_id, "totp", {"code": next_step_code(secret)}, CTX
    )
    assert done.session_token and set(done.session.amr) == {"pwd", "otp", "mfa"}


async def test_the_enrolment_code_cannot_sign_in_again(runtime):
    b, _, secret, _ = await with_totp(runtime)
    result = await password_step(runtime, b)
    with pytest.raises(GuaritaError) as wrong:
        await second_step.verify(
            runtime, result.pending.pending_id, "totp", {"code": code_at(secret)}, CTX
        )
    assert wrong.value.code == ErrorCode.INVALID_CODE
