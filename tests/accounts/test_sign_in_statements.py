"""The sign-in's merged statements and its pooled connections (docs/architecture.md ›
Decisions: Sign-in cost): on PostgreSQL the per-IP window and the account's lookup are one
statement, and a pooled connection is pinged only after it sat idle."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import throttling
from guarita.services.login import ACTION, sign_in
from guarita.storage.plain_sql import when
from guarita.storage.types import utcnow
from tests.accounts.test_login import CTX, registered
from tests.support.factories import STRONG, make_cpf


async def test_a_card_number_that_reads_as_a_cpf_finds_the_account_and_counts_the_address_once(
        runtime):
    """The first candidate (a CPF) matches nobody; the card, second, is the account's. The
    address is counted once and the failure on the account's own counter."""
    b = await registered(runtime, card=make_cpf(4242))
    assert b.card_number != b.cpf
    with pytest.raises(GuaritaError) as wrong:
        await sign_in(runtime, b.card_number, "errada mas comprida o bastante", CTX)
    assert wrong.value.code is ErrorCode.INVALID_CREDENTIALS
    async with runtime.db.read() as s:
        account_id = (await s.execute(text(
            "SELECT account_id FROM account_identifiers WHERE kind = 'card' AND value = :v"),
            {"v": b.card_number})).scalar_one()
        assert await throttling.failures(s, f"login:acct:{account_id}") == 1
        assert await throttling.failures(s, throttling.ip_key(ACTION, CTX.ip)) == 1
    result = await sign_in(runtime, b.card_number, STRONG, CTX)
    assert result.account_id == account_id and result.account.identifiers
    async with runtime.db.read() as s:
        assert await throttling.failures(s, f"login:acct:{account_id}") == 0
        # The success gave its count back; the failure stays counted.
        assert await throttling.failures(s, throttling.ip_key(ACTION, CTX.ip)) == 1


async def test_pooled_connections_the_database_closed_are_replaced_before_use(runtime, backend):
    """No ping on a connection used within the last second — but one whose socket the server
    closed is never handed out: every sign-in after the backends were terminated succeeds."""
    if backend != "postgresql":
        pytest.skip("the server's backends are PostgreSQL's")
    b = await registered(runtime)
    await asyncio.gather(*(sign_in(runtime, b.card_number, STRONG, CTX) for _ in range(4)))
    async with runtime.db.engine.connect() as connection:
        ended = (await connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()
    assert ended >= 1
    await asyncio.sleep(0.2)  # the terminations reach the client sockets
    for _ in range(3):
        assert (await sign_in(runtime, b.card_number, STRONG, CTX)).session_token
    results = await asyncio.gather(*(sign_in(runtime, b.card_number, STRONG, CTX)
                                     for _ in range(4)))
    assert all(r.session_token for r in results)


@pytest.mark.parametrize("count", [4, 5, 6, 9, 11, 40])
async def test_the_wait_an_attempt_earns_is_the_policys_at_every_count(runtime, count):
    """On PostgreSQL the attempt's upsert sets the wait itself (first × 2^(count − free),
    capped); it must be ``throttling.wait_after``'s, as SQLite's separate ``UPDATE`` is."""
    b = await registered(runtime)
    async with runtime.db.read() as s:
        account_id = (await s.execute(text(
            "SELECT account_id FROM account_identifiers WHERE kind = 'card' AND value = :v"),
            {"v": b.card_number})).scalar_one()
    key = throttling.sign_in_key(account_id)
    past = utcnow() - timedelta(hours=2)
    async with runtime.db.transaction() as s:  # count − 1 failures, their last wait over
        await s.execute(text(
            "INSERT INTO throttles (key, count, window_started_at, updated_at, locked_until) "
            "VALUES (:key, :count, :past, :past, :past)"),
            {"key": key, "count": count - 1, "past": past})
    started = utcnow()
    with pytest.raises(GuaritaError):
        await sign_in(runtime, b.card_number, "errada mas comprida o bastante", CTX)
    async with runtime.db.read() as s:
        stored, locked_until = (await s.execute(text(
            "SELECT count, locked_until FROM throttles WHERE key = :key"), {"key": key})).one()
    assert stored == count
    expected = throttling.wait_after(count, runtime.settings.lockout)
    if expected == 0:
        assert when(locked_until) == when(past)
    else:
        wait = (when(locked_until) - started).total_seconds()
        assert expected - 1 <= wait <= expected + 1
