"""Races at the service layer, on SQLite and on PostgreSQL: exactly one winner
(SECURITY.md › Reliability), and the losers get a clear error, never a 500 or a second effect.

The races promised by the issues already live next to their features and are counted in the
summary as race cases (tests/summary_plugin.py › RACE_TESTS):

* one recovery code redeemed 20 times at once — tests/recovery/test_recovery_service.py;
* two registrations of one beneficiary at once — tests/accounts/test_registration.py;
* 50 wrong passwords in parallel counted exactly 50 — tests/accounts/test_login.py;
* one refresh token (and one authorization code) used twice at once — tests/oidc/test_token.py.

Here: the other single-use things a person or an attacker can race, and the same promises again
across processes through real HTTP (tests/races/test_http_races.py).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import GuaritaError
from guarita.methods import captcha
from guarita.services import contacts, recovery
from guarita.services.login import sign_in
from guarita.storage.audit import RequestContext, verify
from guarita.storage.tables import AccountIdentifier, AuditEvent, Flow
from tests.accounts.test_login import registered
from tests.recovery.test_recovery_service import NEW, last_code, started
from tests.support.captcha import solve
from tests.support.factories import STRONG

pytestmark = [pytest.mark.race]

CTX = RequestContext(ip="198.51.100.77", user_agent="pytest-races")


def _raise_limits(runtime) -> None:  # noqa: ANN001
    runtime.settings.rate_limits.code = "1000/300"
    runtime.settings.rate_limits.recovery = "1000/300"


def _split(results: list) -> tuple[list, list]:
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    unexpected = [r for r in losses if not isinstance(r, GuaritaError)]
    assert not unexpected, f"perdedores com erro inesperado (seria um 500): {unexpected!r}"
    return wins, losses


async def _count(runtime, statement) -> int:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        return (await session.execute(statement)).scalar_one()


async def _events(runtime, tag: AuditTag) -> int:  # noqa: ANN001
    return await _count(runtime, select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.tag == str(tag)))


async def _chain_holds(runtime) -> None:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        assert (await verify(session)).ok


async def test_captcha_solution_used_five_times_at_once_is_accepted_once(runtime):
    """ALTCHA has no replay protection of its own; Guarita's must hold under a race."""
    payload = solve(runtime.settings)
    results = await asyncio.gather(*(captcha.verify(runtime, payload) for _ in range(5)),
                                   return_exceptions=True)
    wins, losses = _split(results)
    assert len(wins) == 1 and len(losses) == 4, results
    assert all(e.code == "captcha_invalid" for e in losses)


async def test_new_password_of_one_recovery_set_twice_at_once(runtime):
    """Two tabs submitting the last step at once: one password, one reset, one set of notices."""
    _raise_limits(runtime)
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    verified = await recovery.submit_code(runtime, flow.recovery_id, await last_code(runtime, b.email), CTX)
    other = "uma segunda frase nova para a conta"
    results = await asyncio.gather(
        recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX),
        recovery.set_password(runtime, verified.recovery_id, other, other, CTX),
        return_exceptions=True,
    )
    wins, losses = _split(results)
    assert len(wins) == 1 and len(losses) == 1, results
    assert await _events(runtime, AuditTag.PASSWORD_RESET) == 1
    assert await _count(runtime, select(func.count()).select_from(Flow)
                        .where(Flow.kind == "lock_link")) == 1
    # The password is the winner's, whichever it was.
    winner = NEW if not isinstance(results[0], BaseException) else other
    assert (await sign_in(runtime, b.card_number, winner, CTX)).account_id
    await _chain_holds(runtime)


async def test_not_me_link_used_twice_at_once(runtime):
    _raise_limits(runtime)
    b = await registered(runtime)
    flow = await started(runtime, b.cpf)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    verified = await recovery.submit_code(runtime, flow.recovery_id, await last_code(runtime, b.email), CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)
    async with runtime.db.transaction() as session:
        from guarita.storage.tables import OutboxMessage

        notice = (await session.execute(
            select(OutboxMessage.text).where(OutboxMessage.template == "password_reset",
                                             OutboxMessage.to == b.email))).scalar_one()
    token = notice.split("/nao-fui-eu?token=", 1)[1].split()[0]
    results = await asyncio.gather(*(recovery.lock_by_owner(runtime, token, CTX) for _ in range(3)),
                                   return_exceptions=True)
    wins, losses = _split(results)
    assert len(wins) == 1 and len(losses) == 2, results
    assert await _events(runtime, AuditTag.ACCOUNT_LOCKED_BY_OWNER) == 1
    await _chain_holds(runtime)


async def test_contact_code_confirmed_ten_times_at_once(runtime):
    _raise_limits(runtime)
    b = await registered(runtime, email=None)
    account_id = (await sign_in(runtime, b.card_number, STRONG, CTX)).account_id
    started_ = await contacts.start_verification(runtime, account_id, "email",
                                                 "nova.caixa@example.org", context=CTX)
    code = await last_code(runtime, "nova.caixa@example.org")
    results = await asyncio.gather(
        *(contacts.confirm_verification(runtime, started_.id, code, CTX, account_id=account_id)
          for _ in range(10)),
        return_exceptions=True,
    )
    wins, losses = _split(results)
    assert len(wins) == 1 and len(losses) == 9, results
    assert await _count(runtime, select(func.count()).select_from(AccountIdentifier)
                        .where(AccountIdentifier.value == "nova.caixa@example.org")) == 1
    await _chain_holds(runtime)


async def test_two_accounts_confirming_the_same_email_at_once(runtime):
    """Two people claim one address at the same moment: it ends on exactly one account, and the
    other gets ``contact_in_use`` (the unique index decides; never a 500)."""
    _raise_limits(runtime)
    first = await registered(runtime, card="700100200", seed=31, email=None, phone=None)
    second = await registered(runtime, card="700100300", seed=32, email=None, phone=None)
    address = "familia.silva@example.org"
    flows_ = []
    for b in (first, second):
        account_id = (await sign_in(runtime, b.card_number, STRONG, CTX)).account_id
        started_ = await contacts.start_verification(runtime, account_id, "email", address,
                                                     context=CTX)
        flows_.append((account_id, started_.id, await last_code(runtime, address)))
    results = await asyncio.gather(
        *(contacts.confirm_verification(runtime, flow_id, code, CTX, account_id=account_id)
          for account_id, flow_id, code in flows_),
        return_exceptions=True,
    )
    wins, losses = _split(results)
    assert len(wins) == 1 and len(losses) == 1, results
    assert await _count(runtime, select(func.count()).select_from(AccountIdentifier)
                        .where(AccountIdentifier.value == address)) == 1
    await _chain_holds(runtime)
