"""Known and unknown identifiers: same status, same body, alike timing (SECURITY.md)."""

from __future__ import annotations

import statistics
import time

from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary


async def test_known_and_unknown_identifiers_take_alike_time(client, runtime):
    settings = runtime.settings
    settings.lockout.free_failures = 10_000  # measure the password path, not the wait
    settings.rate_limits.login = "100000/300"
    b = await add_beneficiary(runtime)
    assert (await client.post("/api/v1/registrations", json={
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
        "password": STRONG, "password_confirmation": STRONG, "captcha": solve(runtime.settings)})).status_code == 201

    hash_costs = []
    for _ in range(5):
        started = time.perf_counter()
        await runtime.hasher.verify(runtime.hasher._dummy, "x")
        hash_costs.append(time.perf_counter() - started)
    one_hash = statistics.median(hash_costs)

    known, unknown, bodies = [], [], set()
    for i in range(50):  # interleaved, so machine noise hits both alike
        for identifier, bucket in ((b.card_number, known), (f"ninguem{i}@example.com", unknown)):
            started = time.perf_counter()
            response = await client.post("/api/v1/sessions", json={"identifier": identifier,
                                                                   "password": "errada errada errada"})
            bucket.append(time.perf_counter() - started)
            assert response.status_code == 401
            bodies.add(response.text)
    assert len(bodies) == 1
    difference = abs(statistics.median(known) - statistics.median(unknown))
    # Both paths verify exactly one argon2id hash; what is left is database noise. A leak (no
    # hash for unknown identifiers) would differ by a whole hash.
    assert difference < 0.5 * one_hash, (difference, one_hash)
