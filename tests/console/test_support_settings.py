"""The desk's numbers are settings (``GUARITA_SUPPORT__*``, docs/support-desk.md › Settings and
numbers), and the shared shape of a desk action audits successes and refusals alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from guarita.config import Settings, SupportSettings
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import support
from guarita.services.support.action import DeskAction
from guarita.storage.types import utcnow
from tests.console.helpers import CTX, events, person, quick_staff

REASON = support.parse_reason("carteirinha", None)


def test_defaults_are_the_desk_numbers_and_env_names_are_nested(monkeypatch):
    assert SupportSettings().model_dump() == {
        "staff_idle_minutes": 15,
        "staff_absolute_hours": 12,
        "enrolment_hours": 24,
        "recovery_codes": 10,
        "grant_minutes": 15,
        "caller_check_failures": 5,
        "caller_check_window_minutes": 60,
        "contact_change_minutes": 30,
        "in_person_check_hours": 8,
        "token_default_days": 90,
        "token_max_days": 366,
        "search_limit": 25,
        "search_rate_staff": "60/600",
        "search_rate_token": "20/600",
        "search_alert_per_day": 200,
        "dashboard_days": 30,
    }
    monkeypatch.setenv("GUARITA_SUPPORT__STAFF_IDLE_MINUTES", "7")
    monkeypatch.setenv("GUARITA_SUPPORT__SEARCH_LIMIT", "3")
    desk = Settings().support
    assert desk.staff_idle_minutes == 7 and desk.search_limit == 3 and desk.grant_minutes == 15


@pytest.fixture
def settings_overrides() -> dict:
    return {"support": {"grant_minutes": 2, "caller_check_failures": 2, "search_limit": 1}}


async def test_grant_failures_and_search_limit_follow_the_settings(runtime):
    b = await person(runtime, name="Maria Aparecida Lima")
    await person(
        runtime,
        registered=False,
        name="Maria Aparecida Souza",
        card="100200301",
        seed=2,
        email=None,
        phone=None,
    )
    actor = (await quick_staff(runtime, "agent")).actor()
    found = await support.search(runtime, actor, "maria", CTX, kind="name")
    assert len(found.people) == 1 and found.truncated

    def check(**said):  # noqa: ANN003, ANN202
        return support.caller_check(
            runtime, actor, b.id, reason=REASON, context=CTX, cpf=b.cpf, card_number=None, **said
        )

    wrong = await check(birth_date="01/01/1900")
    assert not wrong.passed and wrong.checks_left == 1
    before = utcnow()
    right = await check(birth_date=b.birth_date.isoformat())
    assert right.passed
    assert before + timedelta(minutes=2) <= right.expires_at <= utcnow() + timedelta(minutes=2)
    await check(birth_date="01/01/1900")
    with pytest.raises(GuaritaError) as exc:  # the second failure within the window: wait
        await check(birth_date=b.birth_date.isoformat())
    assert exc.value.code is ErrorCode.TOO_MANY_ATTEMPTS


async def test_a_desk_action_records_its_refusal_under_its_own_tag_and_raises(runtime):
    b = await person(runtime)
    actor = (await quick_staff(runtime, "agent")).actor()
    closed: list[ErrorCode] = []

    async def on_refusal(session, error):  # noqa: ANN001, ANN202
        closed.append(error.code)

    tag, refused_tag = AuditTag.SUPPORT_CONTACT_CONFIRMED, AuditTag.SUPPORT_CONTACT_CODE_FAILED
    with pytest.raises(GuaritaError) as exc:
        async with DeskAction(
            runtime,
            actor,
            b.id,
            tag,
            REASON,
            CTX,
            refusal_tag=refused_tag,
            refusal_details={"kind": "email"},
            on_refusal=on_refusal,
        ) as action:
            async with action.opened():  # no caller check passed: no grant
                pytest.fail("opened without a grant")
    assert exc.value.code is ErrorCode.CALLER_CHECK_REQUIRED
    assert closed == [ErrorCode.CALLER_CHECK_REQUIRED]
    assert await events(runtime, tag) == []
    [event] = await events(runtime, refused_tag)
    assert event.actor == actor.audit_id and event.subject is not None
    assert event.details["outcome"] == "refused" and event.details["kind"] == "email"
    assert event.details["error"] == "caller_check_required"
    assert event.details["reason"] == "carteirinha" and event.details["agent"] == actor.name


async def test_nobody_to_file_a_refusal_under_records_nothing(runtime):
    actor = (await quick_staff(runtime, "agent")).actor()
    with pytest.raises(GuaritaError) as exc:
        await support.unlock(runtime, actor, 999_999, reason=REASON, context=CTX)
    assert exc.value.code is ErrorCode.NOT_FOUND
    assert await events(runtime, AuditTag.SUPPORT_UNLOCKED) == []
