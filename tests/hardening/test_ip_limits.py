"""Per-IP limits: failures only for sign-in, and IPv6 keyed on its /64 (SECURITY.md ›
Throttling).

The attacks: (1) one IPv6 subscriber holds a whole /64 and rotated the last 64 bits to get a
fresh sign-in limit per request; (2) the other way round, the login limit counted successes,
so a mobile carrier's shared address (thousands of people behind one IP in Brazil) locked
honest people out. Now the IP key is the /64, and a successful sign-in gives its count back.
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from guarita.config import RateLimits
from guarita.domain.client_address import rate_limit_key
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.hashing import Argon2Parameters, Hasher
from guarita.services import login
from guarita.services.throttling import ip_key
from guarita.storage.audit import RequestContext
from guarita.storage.tables import Account, AccountIdentifier, Credential, Throttle
from tests.support.factories import STRONG as PASSWORD  # noqa: E402


@pytest.mark.parametrize(
    "ip,key",
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:a:b:c:d", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_the_rate_limit_key_of_an_address(ip, key):
    assert rate_limit_key(ip) == key


async def _wrong(runtime, identifier: str, ip: str) -> ErrorCode:  # noqa: ANN001
    with pytest.raises(GuaritaError) as caught:
        await login.sign_in(runtime, identifier, "senha errada qualquer", RequestContext(ip=ip))
    return caught.value.code


@pytest.fixture
def settings_overrides() -> dict:
    return {"rate_limits": RateLimits(login="10/300")}


async def test_rotating_the_low_64_bits_of_ipv6_does_not_reset_the_limit(runtime):
    runtime.hasher = Hasher(Argon2Parameters(memory_kib=64, time_cost=1))
    codes = [
        await _wrong(runtime, f"nobody{n}@example.com", f"2001:db8:aa:bb::{n + 1:x}")
        for n in range(12)
    ]
    assert codes[:10] == [ErrorCode.INVALID_CREDENTIALS] * 10
    assert codes[10:] == [ErrorCode.RATE_LIMITED] * 2
    # Another /64 is another subscriber.
    other = await _wrong(runtime, "x@example.com", "2001:db8:aa:cc::1")
    assert other is ErrorCode.INVALID_CREDENTIALS


async def _people(runtime, count: int) -> list[str]:  # noqa: ANN001
    """``count`` accounts that sign in by card, written straight to the tables."""
    hashed = runtime.hasher.hash_sync(PASSWORD)
    cards = []
    async with runtime.db.transaction() as session:
        for n in range(count):
            account_id = secrets.token_hex(16)
            card = f"9{n:08d}"
            session.add(Account(id=account_id, status="active"))
            await session.flush()
            session.add(AccountIdentifier(account_id=account_id, kind="card", value=card,
                                          login_enabled=True))
            session.add(Credential(account_id=account_id, kind="password", algorithm="argon2id",
                                   hash=hashed))
            cards.append(card)
    return cards


class TestSharedCarrierAddress:
    @pytest.fixture
    def settings_overrides(self) -> dict:
        return {}  # the default login limit (60 per 5 minutes)

    async def test_500_people_sign_in_from_one_ip_and_100_failures_are_slowed(self, runtime):
        # The throttles are under test, not argon2id: a cheap hash keeps 500 sign-ins quick.
        runtime.hasher = Hasher(Argon2Parameters(memory_kib=64, time_cost=1))
        carrier = "198.51.100.200"
        cards = await _people(runtime, 500)
        for card in cards:
            result = await login.sign_in(
                runtime, card, PASSWORD, RequestContext(ip=carrier), with_session=False
            )
            assert result.account_id
        async with runtime.db.read() as session:
            row = await session.get(Throttle, ip_key("login", carrier))
        assert row.count == 0

        codes = [await _wrong(runtime, f"9{n:08d}x", carrier) for n in range(100)]
        limit, _ = runtime.settings.rate_limits.parse("login")
        assert codes[:limit].count(ErrorCode.RATE_LIMITED) == 0
        assert codes[limit:] == [ErrorCode.RATE_LIMITED] * (100 - limit)

        # People keep signing in from elsewhere; and the carrier address is slowed for everyone
        # only while the failures last (the window), as before.
        other = await login.sign_in(
            runtime, cards[0], PASSWORD, RequestContext(ip="192.0.2.1"), with_session=False
        )
        assert other.account_id
        async with runtime.db.read() as session:
            keys = (await session.execute(select(Throttle.key))).scalars().all()
        assert ip_key("login", carrier) in keys


class TestPasskeySignIn:
    """Passwordless sign-in counts against the same per-IP limit, failures only."""

    @pytest.fixture
    def settings_overrides(self) -> dict:
        return {"rate_limits": RateLimits(login="10/300")}

    async def test_successes_give_their_count_back_and_failures_are_slowed(self, runtime):
        from guarita.services import passkey_sign_in
        from tests.two_step.test_passkeys import enrolled

        _, _, device, _, _ = await enrolled(runtime)
        carrier = RequestContext(ip="198.51.100.201", user_agent="pytest")
        for _ in range(12):  # 24 requests, twice the limit
            options = await passkey_sign_in.options(runtime, carrier)
            done = await passkey_sign_in.sign_in(runtime, device.get(options), carrier)
            assert done.session_token
        async with runtime.db.read() as session:
            row = await session.get(Throttle, ip_key("login", carrier.ip))
        assert row.count == 0

        codes = []
        for _ in range(12):
            try:
                await passkey_sign_in.sign_in(runtime, {"id": "forjada"}, carrier)
            except GuaritaError as error:
                codes.append(error.code)
        assert codes[:10] == [ErrorCode.SECOND_FACTOR_INVALID] * 10
        assert codes[10:] == [ErrorCode.RATE_LIMITED] * 2
