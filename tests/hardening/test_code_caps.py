"""Daily caps on codes and recovery flows, per account and per destination (SECURITY.md ›
One-time codes).

The attacks: (1) each recovery flow allows 3 codes and 5 wrong answers, so thousands of flows
for one account, from many addresses, guess its 6-digit codes in parallel; (2) many flows aimed
at one phone number make an SMS flood. Now codes per account and per destination, and recovery
flows per account, are capped per day; a recovery over a cap goes on like one for an unknown
identifier (nothing sent, the same answers), the desk and a signed-in person are told plainly.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from guarita.config import CodePolicy
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import contacts, recovery
from guarita.storage.audit import RequestContext
from guarita.storage.tables import OutboxMessage
from guarita.storage.types import utcnow
from tests.console.helpers import api_token, bearer
from tests.oidc.support import person
from tests.support.captcha import solve
from tests.support.factories import format_cpf


@pytest.fixture
def settings_overrides() -> dict:
    return {"codes": CodePolicy(per_account_per_day=4, per_destination_per_day=3,
                                recovery_flows_per_account_per_day=6, resend_after_seconds=0)}


def ctx(n: int) -> RequestContext:
    """A different address each time: the per-IP limits are not what stops this."""
    return RequestContext(ip=f"198.51.100.{n % 250 + 1}", user_agent="pytest")


async def _sent_to(runtime, to: str) -> int:  # noqa: ANN001
    async with runtime.db.read() as session:
        return (await session.execute(
            select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.to == to,
                OutboxMessage.template.in_(("recovery_code", "contact_code")),
            )
        )).scalar_one()


async def _recovery_code(runtime, identifier: str, n: int, method: str = "email"):  # noqa: ANN001, ANN202
    flow = await recovery.start(runtime, identifier, solve(runtime.settings), ctx(n))
    return await recovery.request_code(runtime, flow.recovery_id, method, ctx(n))


async def test_recovery_codes_stop_at_the_daily_cap_across_many_flows(runtime):
    b = await person(runtime)
    answers = [await _recovery_code(runtime, b.cpf, n) for n in range(5)]
    assert await _sent_to(runtime, b.email) == 3  # the destination's cap
    # Every answer looks the same: the capped flows are not told apart from the others.
    assert len({(a.state, a.method, a.attempts_left) for a in answers}) == 1
    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1)):
        await _recovery_code(runtime, b.cpf, 99)
    assert await _sent_to(runtime, b.email) == 4  # a new day


async def test_a_capped_flow_accepts_no_code_so_guessing_across_flows_stops(runtime):
    """Past the cap a flow's code is counted but never sent and never matches: the guesses of
    a distributed attack land on flows that cannot succeed."""
    b = await person(runtime)
    for n in range(3):
        await _recovery_code(runtime, b.cpf, n)
    flow = await recovery.start(runtime, b.cpf, solve(runtime.settings), ctx(5))
    await recovery.request_code(runtime, flow.recovery_id, "email", ctx(5))
    async with runtime.db.read() as session:
        from guarita.storage.tables import Flow

        newest = (await session.execute(
            select(Flow).where(Flow.kind == "recovery").order_by(Flow.created_at.desc()).limit(1)
        )).scalar_one()
    assert newest.channel_identifier_id is None  # nothing delivered
    with pytest.raises(GuaritaError) as exc:
        await recovery.submit_code(runtime, flow.recovery_id, "000000", ctx(5))
    assert exc.value.code in (ErrorCode.INVALID_CODE, ErrorCode.TOO_MANY_ATTEMPTS)


async def test_the_account_cap_counts_every_destination(runtime):
    b = await person(runtime)
    for n in range(3):
        await _recovery_code(runtime, b.cpf, n)  # 3 to the e-mail
    await _recovery_code(runtime, b.cpf, 7, "sms")  # the account's 4th code: allowed
    await _recovery_code(runtime, b.card_number, 8, "sms")  # the 5th: not
    assert await _sent_to(runtime, b.phone) == 1


async def test_recovery_flows_per_account_are_capped(runtime):
    b = await person(runtime)
    started = [await recovery.start(runtime, b.cpf, solve(runtime.settings), ctx(n))
               for n in range(8)]
    # Past the cap the flow belongs to no account: its code request sends nothing, and the
    # start answered exactly like the first.
    await recovery.request_code(runtime, started[-1].recovery_id, "email", ctx(9))
    assert await _sent_to(runtime, b.email) == 0
    assert started[0].methods == started[-1].methods


async def test_a_flood_of_contact_codes_to_one_number_stops(runtime):
    victim_phone = "+5561977776666"
    sent = []
    for n in range(5):
        someone = await person(runtime, card=f"81000000{n}", seed=100 + n,
                               email=f"p{n}@example.org", phone=None)
        try:
            await contacts.start_verification(
                runtime, someone.account_id, "phone", victim_phone, context=ctx(n)
            )
            sent.append(True)
        except GuaritaError as error:
            assert error.code is ErrorCode.RATE_LIMITED and "máximo de códigos" in error.message
            sent.append(False)
    assert sent == [True, True, True, False, False]
    assert await _sent_to(runtime, victim_phone) == 3


async def test_the_health_plan_form_counts_toward_the_caps(runtime):
    b = await person(runtime)
    from guarita.services import recovery_kba

    for n in range(5):
        await recovery_kba.start(runtime, recovery_kba.KbaInput(
            identifier=b.card_number, cpf=format_cpf(b.cpf),
            birth_date=b.birth_date.strftime("%d/%m/%Y"), captcha=solve(runtime.settings),
        ), ctx(n))
    assert await _sent_to(runtime, b.email) == 3


async def test_the_desk_is_told_plainly_and_counts_only_per_destination(runtime, client):
    """The desk's own recovery for a flooded person: refused with a sentence (not hidden),
    while the account cap, which anonymous flows filled, does not hold the central back."""
    b = await person(runtime)
    await _recovery_code(runtime, b.cpf, 1, "sms")  # 1 to the phone
    for n in range(3):
        await _recovery_code(runtime, b.cpf, 10 + n)  # the account's cap (4) is reached
    headers = bearer(await api_token(runtime, "view,caller_check,recovery"), agent="atendente 3")
    checked = await client.post(
        f"/api/v1/support/people/{b.id}/caller-checks", headers=headers,
        json={"reason": "recuperacao", "birth_date": b.birth_date.isoformat(),
              "cpf": format_cpf(b.cpf)},
    )
    assert checked.json()["result"] == "confere"
    view = (await client.get(f"/api/v1/support/people/{b.id}", headers=headers)).json()
    ids = {c["kind"]: c["id"] for c in view["recovery_contacts"]}
    by_phone = await client.post(f"/api/v1/support/people/{b.id}/recoveries", headers=headers,
                                 json={"reason": "recuperacao", "identifier_id": ids["phone"]})
    assert by_phone.status_code in (200, 201, 202), by_phone.text  # the phone had 1 of 3
    by_email = await client.post(f"/api/v1/support/people/{b.id}/recoveries", headers=headers,
                                 json={"reason": "recuperacao", "identifier_id": ids["email"]})
    assert by_email.status_code == 429, by_email.text  # the e-mail had its 3
    assert "máximo de códigos" in by_email.json()["error"]["message"]
