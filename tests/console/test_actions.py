"""Every action: its effect, its audit event (agent, subject, reason, outcome), refusals included,
and ``guarita audit verify`` still holds (docs/support-desk.md › What an agent does)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import support, throttling
from guarita.services.login import sign_in
from guarita.storage.audit import verify
from guarita.storage.support_tables import SupportIdentityCheck
from guarita.storage.tables import Account, AccountIdentifier, OutboxMessage
from guarita.storage.types import utcnow
from tests.console.helpers import (
    CTX,
    caller_data,
    events,
    person,
    post,
    quick_staff,
    session_client,
)
from tests.support.factories import STRONG

REASON = support.parse_reason("bloqueio", "ligou dizendo que está bloqueada")


async def opened(runtime, role: str = "agent"):  # noqa: ANN001, ANN202
    """A registered person and a staff actor who passed the caller check for them."""
    b = await person(runtime)
    member = await quick_staff(runtime, role)
    actor = member.actor()
    result = await support.caller_check(
        runtime,
        actor,
        b.id,
        reason=REASON,
        context=CTX,
        birth_date=b.birth_date.isoformat(),
        cpf=b.cpf,
        card_number=None,
    )
    assert result.passed
    return b, member, actor


async def account_of(runtime, b) -> Account:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        return (await session.execute(select(Account).where(Account.beneficiary_id == b.id))).scalar_one()


def assert_event(event, actor, subject: str, outcome: str, reason: str = "bloqueio") -> None:  # noqa: ANN001
    assert event.actor == actor.audit_id
    assert event.subject == subject
    assert event.details["outcome"] == outcome
    assert event.details["reason"] == reason
    assert event.details["agent"] == actor.name and event.details["via"] == "console"


async def audit_holds(runtime) -> None:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        report = await verify(session)
    assert report.ok, report


async def lock(runtime, b) -> None:  # noqa: ANN001
    for _ in range(5):
        with pytest.raises(GuaritaError):
            await sign_in(runtime, b.card_number, "senha errada errada", CTX)


async def test_caller_check_and_card_reveal_are_audited(runtime):
    b, _, actor = await opened(runtime)
    account = await account_of(runtime, b)
    [check] = await events(runtime, AuditTag.SUPPORT_CALLER_CHECKED)
    assert_event(check, actor, account.id, "confere")
    assert check.details["reason_text"] == "ligou dizendo que está bloqueada"
    assert check.details["compared"] == ["birth_date", "cpf"]
    assert b.cpf not in str(check.details) and str(b.birth_date.year) not in str(check.details)
    card = await support.reveal_card(runtime, actor, b.id, reason=REASON, context=CTX)
    assert card == b.card_number
    [revealed] = await events(runtime, AuditTag.SUPPORT_CARD_REVEALED)
    assert_event(revealed, actor, account.id, "revealed")
    await audit_holds(runtime)


async def test_card_reveal_for_someone_without_an_account(runtime):
    b = await person(runtime, registered=False)
    actor = (await quick_staff(runtime, "agent")).actor()
    await support.caller_check(
        runtime,
        actor,
        b.id,
        reason=REASON,
        context=CTX,
        birth_date=b.birth_date.isoformat(),
        cpf=b.cpf,
        card_number=None,
    )
    assert await support.reveal_card(runtime, actor, b.id, reason=REASON, context=CTX) == b.card_number
    [event] = await events(runtime, AuditTag.SUPPORT_CARD_REVEALED)
    assert event.subject == f"beneficiary:{b.id}"
    with pytest.raises(GuaritaError) as exc:
        await support.unlock(runtime, actor, b.id, reason=REASON, context=CTX)
    assert exc.value.code is ErrorCode.NO_ACCOUNT


async def test_refusals_are_audited_with_their_reason(runtime):
    b = await person(runtime)
    actor = (await quick_staff(runtime, "agent")).actor()
    with pytest.raises(GuaritaError) as exc:
        await support.reveal_card(runtime, actor, b.id, reason=REASON, context=CTX)
    assert exc.value.code is ErrorCode.CALLER_CHECK_REQUIRED
    [event] = await events(runtime, AuditTag.SUPPORT_CARD_REVEALED)
    assert event.details["outcome"] == "refused" and event.details["error"] == "caller_check_required"
    with pytest.raises(GuaritaError) as exc:
        support.parse_reason("outro", "curto")
    assert exc.value.code is ErrorCode.REASON_REQUIRED and exc.value.field == "reason_text"
    with pytest.raises(GuaritaError) as exc:
        support.parse_reason("inventado", None)
    assert exc.value.code is ErrorCode.REASON_REQUIRED


async def test_grant_ends_after_fifteen_minutes(runtime):
    b, _, actor = await opened(runtime)
    with time_machine.travel(utcnow() + timedelta(minutes=15, seconds=1)):
        view = await support.person_view(runtime, actor, b.id, CTX)
        assert not view.unmasked
        with pytest.raises(GuaritaError) as exc:
            await support.reveal_card(runtime, actor, b.id, reason=REASON, context=CTX)
        assert exc.value.code is ErrorCode.CALLER_CHECK_REQUIRED


async def test_unlock_ends_a_temporary_lock(runtime):
    b, _, actor = await opened(runtime)
    await lock(runtime, b)
    view = await support.person_view(runtime, actor, b.id, CTX)
    assert view.state == "locked" and view.locked_until is not None and view.failures == 5
    result = await support.unlock(runtime, actor, b.id, reason=REASON, context=CTX)
    assert result.outcome == "unlocked" and not result.password_disabled
    assert (await sign_in(runtime, b.card_number, STRONG, CTX)).account_id
    again = await support.unlock(runtime, actor, b.id, reason=REASON, context=CTX)
    assert again.outcome == "not_locked"
    account = await account_of(runtime, b)
    unlocked = await events(runtime, AuditTag.SUPPORT_UNLOCKED)
    assert_event(unlocked[0], actor, account.id, "unlocked")
    assert unlocked[0].details["failures_before"] == 5
    assert_event(unlocked[1], actor, account.id, "not_locked")
    await audit_holds(runtime)


async def test_a_disabled_password_needs_a_supervisor(app, runtime):
    b, agent_member, agent = await opened(runtime)
    account = await account_of(runtime, b)
    async with runtime.db.transaction() as session:
        row = await session.get(Account, account.id)
        row.password_disabled_at = utcnow()
    result = await support.unlock(runtime, agent, b.id, reason=REASON, context=CTX)
    assert result.outcome == "refused" and result.password_disabled
    with pytest.raises(GuaritaError):
        await sign_in(runtime, b.card_number, STRONG, CTX)
    # On the page the agent is told to call a supervisor; the agent has no re-enable form.
    async with await session_client(app, runtime, agent_member) as browser:
        page = await post(browser, f"/atendimento/pessoas/{b.id}/desbloqueio", {"reason": "bloqueio"})
        assert "Só um supervisor pode reativá-la" in page.text
        assert f"/atendimento/pessoas/{b.id}/senha" not in page.text
        assert (await post(browser, f"/atendimento/pessoas/{b.id}/senha", {"reason": "bloqueio"})).status_code == 403

    supervisor_member = await quick_staff(runtime, "supervisor")
    supervisor = supervisor_member.actor()
    await support.caller_check(
        runtime,
        supervisor,
        b.id,
        reason=REASON,
        context=CTX,
        birth_date=b.birth_date.isoformat(),
        cpf=None,
        card_number=b.card_number,
    )
    assert await support.reenable_password(runtime, supervisor, b.id, reason=REASON, context=CTX) == "reenabled"
    assert (await sign_in(runtime, b.card_number, STRONG, CTX)).account_id
    [event] = await events(runtime, AuditTag.SUPPORT_PASSWORD_REENABLED)
    assert_event(event, supervisor, account.id, "reenabled")
    await audit_holds(runtime)


async def test_disable_and_enable_an_account(runtime):
    b, _, supervisor = await opened(runtime, "supervisor")
    session_token = (await sign_in(runtime, b.card_number, STRONG, CTX)).session_token
    assert (
        await support.set_account_status(runtime, supervisor, b.id, status="disabled", reason=REASON, context=CTX)
        == "disabled"
    )
    from guarita.services import sessions as beneficiary_sessions

    async with runtime.db.transaction() as session:
        assert await beneficiary_sessions.load(session, session_token, runtime.settings.session) is None
    with pytest.raises(GuaritaError):
        await sign_in(runtime, b.card_number, STRONG, CTX)
    view = await support.person_view(runtime, supervisor, b.id, CTX)
    assert view.state == "disabled"
    assert (
        await support.set_account_status(runtime, supervisor, b.id, status="active", reason=REASON, context=CTX)
        == "active"
    )
    assert (await sign_in(runtime, b.card_number, STRONG, CTX)).account_id
    account = await account_of(runtime, b)
    [disabled] = await events(runtime, AuditTag.SUPPORT_ACCOUNT_DISABLED)
    assert_event(disabled, supervisor, account.id, "disabled")
    assert disabled.details["sessions_ended"] == 2  # the registration's and the sign-in's
    [enabled] = await events(runtime, AuditTag.SUPPORT_ACCOUNT_ENABLED)
    assert_event(enabled, supervisor, account.id, "active")
    await audit_holds(runtime)


async def test_in_person_identity_check_raises_bronze_to_prata(runtime):
    b, _, supervisor = await opened(runtime, "supervisor")
    reason = support.parse_reason("presencial", None)
    with pytest.raises(GuaritaError) as exc:
        await support.record_identity_check(
            runtime,
            supervisor,
            b.id,
            document_type="rg",
            document_number="12",
            reason=reason,
            context=CTX,
        )
    assert exc.value.field == "document_number"
    result = await support.record_identity_check(
        runtime,
        supervisor,
        b.id,
        document_type="cnh",
        document_number="0123.456.789-0",
        reason=reason,
        context=CTX,
    )
    assert (result.trust_before, result.trust_after) == ("bronze", "prata")
    account = await account_of(runtime, b)
    assert account.trust_level == "prata"
    async with runtime.db.transaction() as session:
        evidence = (await session.execute(select(SupportIdentityCheck))).scalar_one()
    assert evidence.document_number == "01234567890" and evidence.actor == supervisor.audit_id
    events_ = await events(runtime, AuditTag.SUPPORT_IDENTITY_CHECKED)
    assert [e.details["outcome"] for e in events_] == ["refused", "recorded"]
    assert "01234567890" not in str(events_[-1].details) and events_[-1].details["document_end"] == "890"
    assert events_[-1].details["reason"] == "presencial"
    await audit_holds(runtime)


async def test_start_recovery_sends_a_code_the_agent_never_sees(app, runtime):
    b = await person(runtime)
    member = await quick_staff(runtime, "agent")
    async with await session_client(app, runtime, member) as browser:
        await post(
            browser,
            f"/atendimento/pessoas/{b.id}/conferencia",
            caller_data(b, reason="recuperacao"),
        )
        page = await browser.get(f"/atendimento/pessoas/{b.id}")
        async with runtime.db.transaction() as session:
            email = (
                await session.execute(select(AccountIdentifier).where(AccountIdentifier.kind == "email"))
            ).scalar_one()
        assert f'value="{email.id}"' in page.text and "m***@e***.com" in page.text
        started = await post(
            browser,
            f"/atendimento/pessoas/{b.id}/recuperacao",
            {"identifier_id": str(email.id), "reason": "recuperacao"},
            page=f"/atendimento/pessoas/{b.id}",
        )
        assert started.status_code == 303 and "feito=recuperacao" in started.headers["location"]
        after = await browser.get(started.headers["location"])
    async with runtime.db.transaction() as session:
        message = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.template == "recovery_code"))
        ).scalar_one()
    import re

    code = re.search(r"\b(\d{6})\b", message.text).group(1)
    assert message.to == b.email
    assert code not in after.text and code not in started.text
    assert "Código de recuperação" in after.text  # the message is listed, masked, without text
    [event] = await events(runtime, AuditTag.SUPPORT_RECOVERY_REQUESTED)
    assert event.details["outcome"] == "started" and event.details["destination"] == "m***@e***.com"
    assert event.details["reason"] == "recuperacao" and event.actor == f"staff:{member.id}"
    [fact] = await events(runtime, AuditTag.SUPPORT_RECOVERY_STARTED)
    assert fact.actor == f"staff:{member.id}"
    await audit_holds(runtime)


async def test_recovery_only_to_a_verified_contact_of_this_account(runtime):
    b, _, actor = await opened(runtime)
    other = await person(runtime, card="700800900", seed=7, email="outro@example.com", phone=None)
    async with runtime.db.transaction() as session:
        foreign = (
            await session.execute(select(AccountIdentifier).where(AccountIdentifier.value == other.email))
        ).scalar_one()
    with pytest.raises(GuaritaError) as exc:
        await support.start_recovery(runtime, actor, b.id, identifier_id=foreign.id, reason=REASON, context=CTX)
    assert exc.value.code is ErrorCode.METHOD_UNAVAILABLE
    [event] = await events(runtime, AuditTag.SUPPORT_RECOVERY_REQUESTED)
    assert event.details["outcome"] == "refused"


async def test_lock_state_reads_the_shared_throttle(runtime):
    b, _, actor = await opened(runtime)
    account = await account_of(runtime, b)
    async with runtime.db.transaction() as session:
        for _ in range(6):
            await throttling.record_failure(session, f"login:acct:{account.id}", runtime.settings.lockout)
    view = await support.person_view(runtime, actor, b.id, CTX)
    assert view.state == "locked" and view.failures == 6


async def test_contact_registration_ends_after_five_wrong_codes(runtime):
    b, _, actor = await opened(runtime)
    reason = support.parse_reason("contato", None)
    started = await support.start_contact_change(
        runtime, actor, b.id, kind="phone", value="(61) 98888-1234", reason=reason, context=CTX
    )
    assert started.destination == "(61) *****-1234"
    from tests.console.helpers import last_code, proof_code

    code = await last_code(runtime, "+5561988881234")
    proof = await proof_code(runtime)  # the account already had a verified contact
    wrong = "000000" if code != "000000" else "111111"
    codes = []
    for _ in range(5):
        with pytest.raises(GuaritaError) as exc:
            await support.confirm_contact_change(
                runtime, actor, b.id, started.id, code=wrong, proof_code=proof, context=CTX
            )
        codes.append(exc.value.code)
    assert codes == [ErrorCode.INVALID_CODE] * 4 + [ErrorCode.TOO_MANY_ATTEMPTS]
    with pytest.raises(GuaritaError) as exc:
        await support.confirm_contact_change(
            runtime, actor, b.id, started.id, code=code, proof_code=proof, context=CTX
        )
    assert exc.value.code is ErrorCode.FLOW_EXPIRED and exc.value.status == 410
    failed = await events(runtime, AuditTag.SUPPORT_CONTACT_CODE_FAILED)
    assert len(failed) == 5 and all(e.details["reason"] == "contato" for e in failed)
    async with runtime.db.transaction() as session:
        phones = (
            (await session.execute(select(AccountIdentifier.value).where(AccountIdentifier.kind == "phone")))
            .scalars()
            .all()
        )
    assert "+5561988881234" not in phones


async def test_the_desk_is_not_held_by_the_per_ip_code_limit(runtime):
    """30 code requests per IP in 5 minutes guard anonymous pages; one desk (one NAT address)
    registers contacts for many callers."""
    b, _, actor = await opened(runtime)
    reason = support.parse_reason("contato", None)
    limit, _ = runtime.settings.rate_limits.parse("code")
    # Every change here also sends a proof code to the one person's e-mail; the daily cap per
    # destination (tests/hardening/test_code_caps.py) is not what this test is about.
    runtime.settings = runtime.settings.model_copy(update={"codes": runtime.settings.codes.model_copy(
        update={"per_destination_per_day": 1000})})
    for i in range(limit + 2):
        await support.start_contact_change(
            runtime,
            actor,
            b.id,
            kind="email",
            value=f"novo{i}@example.org",
            reason=reason,
            context=CTX,
        )
    assert len(await events(runtime, AuditTag.SUPPORT_CONTACT_CODE_SENT)) == limit + 2


async def test_replacing_an_email_tells_the_old_one(runtime):
    b, _, actor = await opened(runtime)
    reason = support.parse_reason("contato", None)
    started = await support.start_contact_change(
        runtime,
        actor,
        b.id,
        kind="email",
        value="Nova.Maria@Example.org",
        reason=reason,
        context=CTX,
    )
    from tests.console.helpers import last_code, proof_code

    code = await last_code(runtime, "nova.maria@example.org")
    saved = await support.confirm_contact_change(
        runtime, actor, b.id, started.id, code=code, proof_code=await proof_code(runtime),
        context=CTX,
    )
    assert saved.verified and saved.login_enabled and saved.source == "support"
    async with runtime.db.transaction() as session:
        told = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.template == "contact_replaced")))
            .scalars()
            .all()
        )
    assert [m.to for m in told] == [b.email]
    assert (await sign_in(runtime, "nova.maria@example.org", STRONG, CTX)).account_id
    with pytest.raises(GuaritaError):
        await sign_in(runtime, b.email, STRONG, CTX)
    [confirmed] = await events(runtime, AuditTag.SUPPORT_CONTACT_CONFIRMED)
    assert confirmed.details["outcome"] == "verified" and confirmed.actor == actor.audit_id
    await audit_holds(runtime)
