"""A legacy account (slow PBKDF2 hash) and an unknown identifier answer a wrong password after
alike times: the failure floor hides the cost of the legacy verifier (SECURITY.md)."""

from __future__ import annotations

import statistics
import time

from guarita.domain.hashing import make_pbkdf2_sha256
from guarita.services.login import sign_in
from guarita.storage.accounts import new_account_id
from guarita.storage.audit import RequestContext
from guarita.storage.tables import Account, AccountIdentifier, Credential
from guarita.storage.types import utcnow
from tests.support.factories import add_beneficiary

CTX = RequestContext(ip="198.51.100.7")


async def timed(runtime, identifier):  # noqa: ANN001
    started = time.perf_counter()
    try:
        await sign_in(runtime, identifier, "errada errada errada", CTX)
    except Exception:  # noqa: BLE001, S110 - only the time matters here
        pass
    return time.perf_counter() - started


async def test_legacy_and_unknown_failures_take_alike_time(runtime):
    settings = runtime.settings
    settings.lockout.free_failures = 10_000
    settings.rate_limits.login = "100000/300"
    legacy_hash = make_pbkdf2_sha256("senha antiga", iterations=200_000)
    started = time.perf_counter()
    runtime.hasher.verify_sync(legacy_hash, "x")
    legacy_cost = time.perf_counter() - started
    settings.password.failure_floor_ms = int(legacy_cost * 3000) + 100
    b = await add_beneficiary(runtime)
    async with runtime.db.transaction() as s:
        account = Account(id=new_account_id(), beneficiary_id=b.id, legacy=True)
        s.add(account)
        await s.flush()
        s.add(Credential(account_id=account.id, kind="password", algorithm="pbkdf2_sha256", hash=legacy_hash))
        s.add(AccountIdentifier(account_id=account.id, kind="card", value=b.card_number,
                                verified_at=utcnow(), login_enabled=True))
    legacy, unknown = [], []
    for i in range(8):
        legacy.append(await timed(runtime, b.card_number))
        unknown.append(await timed(runtime, f"ninguem{i}@example.com"))
    difference = abs(statistics.median(legacy) - statistics.median(unknown))
    assert difference < legacy_cost / 2, (difference, legacy_cost, statistics.median(legacy))
