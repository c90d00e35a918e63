"""Every rule of two-step verification at the service layer (docs/two-step.md; SECURITY.md ›
Passwords, › Throttling and lockout, › Recovery, › Sessions: re-authentication)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import account as account_service
from guarita.services import passkeys, second_factors, second_step, support
from guarita.services.login import sign_in
from guarita.storage.tables import AuditEvent, Credential, OutboxMessage
from guarita.storage.types import utcnow
from tests.support.factories import STRONG
from tests.two_step.helpers import CTX, next_step_code, password_step, person, with_totp

SHORT = "mar e serra"  # 11 characters: enough with a second factor only


async def outbox(runtime, template: str) -> list[OutboxMessage]:  # noqa: ANN001
    async with runtime.db.read() as s:
        return list(
            (
                await s.execute(select(OutboxMessage).where(OutboxMessage.template == template))
            ).scalars()
        )


async def tags(runtime) -> list[str]:  # noqa: ANN001
    async with runtime.db.read() as s:
        return list((await s.execute(select(AuditEvent.tag).order_by(AuditEvent.id))).scalars())


async def test_enrolment_needs_a_recent_authentication(runtime):
    _, result = await person(runtime)
    with time_machine.travel(utcnow() + timedelta(minutes=6), tick=False):
        with pytest.raises(GuaritaError) as stale:
            await second_factors.start_totp(runtime, result.session, CTX)
        assert stale.value.code == ErrorCode.REAUTHENTICATION_REQUIRED
        with pytest.raises(GuaritaError):
            await passkeys.passkey_options(runtime, result.session, CTX)


async def test_every_change_is_audited_and_told_to_every_contact_with_the_lock_link(runtime):
    b, session, secret, _ = await with_totp(runtime)
    await second_factors.regenerate_codes(runtime, session, CTX)
    await second_factors.remove_totp(runtime, session, CTX)
    sent = await outbox(runtime, "second_factor_changed")
    assert len(sent) == 6 and all("/nao-fui-eu?token=" in m.text for m in sent)
    assert {(m.channel, m.to) for m in sent} == {("email", b.email), ("sms", b.phone)}
    found = await tags(runtime)
    for tag in (
        AuditTag.SECOND_FACTOR_ENROLLED,
        AuditTag.RECOVERY_CODES_GENERATED,
        AuditTag.SECOND_FACTOR_REMOVED,
    ):
        assert tag.value in found


async def test_a_new_set_of_recovery_codes_replaces_the_old(runtime):
    b, session, _, first = await with_totp(runtime)
    second = await second_factors.regenerate_codes(runtime, session, CTX)
    assert len(second) == 10 and not set(first) & set(second)
    pending = (await password_step(runtime, b)).pending
    with pytest.raises(GuaritaError):
        await second_step.verify(
            runtime, pending.pending_id, "recovery_code", {"code": first[0]}, CTX
        )
    done = await second_step.verify(
        runtime, pending.pending_id, "recovery_code", {"code": second[0]}, CTX
    )
    assert "mfa" in done.amr
    async with runtime.db.read() as s:
        row = (
            await s.execute(select(Credential).where(Credential.kind == "recovery_codes"))
        ).scalar_one()
    assert second[0] not in str(row.data) and len(row.data["hashes"]) == 10


async def test_password_minimum_is_8_with_a_second_factor(runtime):
    _, session, _, _ = await with_totp(runtime)
    with pytest.raises(GuaritaError):
        await account_service.change_password(runtime, session, STRONG, "curta7!", "curta7!", CTX)
    await account_service.change_password(runtime, session, STRONG, SHORT, SHORT, CTX)


async def test_removing_the_last_factor_asks_for_a_15_character_password(runtime):
    _, session, _, _ = await with_totp(runtime)
    await account_service.change_password(runtime, session, STRONG, SHORT, SHORT, CTX)
    with pytest.raises(GuaritaError) as asked:
        await second_factors.remove_totp(runtime, session, CTX)
    assert asked.value.code == ErrorCode.PASSWORD_CHANGE_REQUIRED
    with pytest.raises(GuaritaError) as weak:
        await second_factors.remove_totp(
            runtime, session, CTX, new_password=SHORT, confirmation=SHORT
        )
    assert weak.value.code == ErrorCode.WEAK_PASSWORD
    longer = "uma frase nova bem comprida"
    await second_factors.remove_totp(
        runtime, session, CTX, new_password=longer, confirmation=longer
    )
    found = await second_factors.summary(runtime, session.account_id, session)
    assert not found.enabled and found.recovery_codes_left is None and found.password_long_enough


async def test_five_wrong_second_factors_earn_the_password_backoff(runtime):
    b, _, secret, _ = await with_totp(runtime)
    for _ in range(5):
        pending = (await password_step(runtime, b)).pending
        with pytest.raises(GuaritaError) as wrong:
            await second_step.verify(runtime, pending.pending_id, "totp", {"code": "000000"}, CTX)
        assert wrong.value.code == ErrorCode.INVALID_CODE
    pending = (await password_step(runtime, b)).pending  # the password itself is still right
    with pytest.raises(GuaritaError) as waiting:
        await second_step.verify(
            runtime, pending.pending_id, "totp", {"code": next_step_code(secret)}, CTX
        )
    assert waiting.value.code == ErrorCode.TOO_MANY_ATTEMPTS
    assert AuditTag.SECOND_FACTOR_LOCKED.value in await tags(runtime)


async def test_a_pending_sign_in_expires_after_five_minutes(runtime):
    b, _, secret, _ = await with_totp(runtime)
    pending = (await password_step(runtime, b)).pending
    with time_machine.travel(utcnow() + timedelta(minutes=5, seconds=1), tick=False):
        with pytest.raises(GuaritaError) as late:
            await second_step.verify(
                runtime, pending.pending_id, "totp", {"code": next_step_code(secret)}, CTX
            )
    assert late.value.code == ErrorCode.SECOND_STEP_EXPIRED


async def test_a_pending_sign_in_completes_once(runtime):
    b, _, secret, _ = await with_totp(runtime)
    pending = (await password_step(runtime, b)).pending
    await second_step.verify(
        runtime, pending.pending_id, "totp", {"code": next_step_code(secret)}, CTX
    )
    with pytest.raises(GuaritaError):
        await second_step.verify(
            runtime, pending.pending_id, "totp", {"code": next_step_code(secret, 0)}, CTX
        )


async def test_code_by_email_is_a_second_factor_only_when_allowed(runtime):
    b, _, _, _ = await with_totp(runtime)
    pending = (await password_step(runtime, b)).pending
    assert "email" not in [m.id for m in pending.methods]
    runtime.settings.mfa.allow_code_factor = True
    try:
        pending = (await password_step(runtime, b)).pending
        assert [m.id for m in pending.methods] == ["totp", "email", "sms", "recovery_code"]
        await second_step.start_method(runtime, pending.pending_id, "email", CTX)
        sent = await outbox(runtime, "recovery_code")
        code = next(line for line in sent[-1].text.split() if line.isdigit() and len(line) == 6)
        done = await second_step.verify(runtime, pending.pending_id, "email", {"code": code}, CTX)
        assert set(done.amr) == {"pwd", "mail", "mfa"}
    finally:
        runtime.settings.mfa.allow_code_factor = False


async def test_the_desk_sees_the_kinds_and_a_supervisor_removes_after_an_in_person_check(runtime):
    from tests.console.helpers import quick_staff

    b, session, _, _ = await with_totp(runtime)
    supervisor = (await quick_staff(runtime, "supervisor")).actor()
    reason = support.parse_reason("presencial", None)
    await support.caller_check(
        runtime,
        supervisor,
        b.id,
        reason=reason,
        context=CTX,
        birth_date=b.birth_date.isoformat(),
        cpf=b.cpf,
        card_number=None,
    )
    view = await support.person_view(runtime, supervisor, b.id, CTX)
    assert view.second_factors == ["Aplicativo autenticador", "Códigos de recuperação"]
    assert "sealed" not in str(view.as_json())
    with pytest.raises(GuaritaError) as refused:
        await support.remove_second_factors(runtime, supervisor, b.id, reason=reason, context=CTX)
    assert refused.value.code == ErrorCode.CALLER_CHECK_REQUIRED
    await support.record_identity_check(
        runtime,
        supervisor,
        b.id,
        document_type="rg",
        document_number="123456789",
        reason=reason,
        context=CTX,
    )
    removed = await support.remove_second_factors(
        runtime, supervisor, b.id, reason=reason, context=CTX
    )
    assert removed == ["recovery_codes", "totp"]
    assert AuditTag.SUPPORT_SECOND_FACTOR_REMOVED.value in await tags(runtime)
    sent = await outbox(runtime, "second_factor_changed")
    assert "central de atendimento" in [m for m in sent if m.channel == "email"][-1].text
    result = await sign_in(runtime, b.card_number, STRONG, CTX)
    assert result.pending is None and result.session_token  # the password alone again
