"""Expired codes, grants and revoked access tokens are deleted; spent refresh tokens stay until
their family expires, so reuse is still detected."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from guarita.oidc import housekeeping
from guarita.storage.oidc_tables import OidcAuthorizationCode, OidcGrant, OidcRefreshToken
from guarita.storage.types import utcnow
from tests.oidc.support import add_client, person, tokens_for


async def count(runtime, table) -> int:  # noqa: ANN001
    async with runtime.db.transaction() as s:
        return (await s.execute(select(func.count()).select_from(table))).scalar()


async def test_sweep(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    first = await tokens_for(client, c, b.card_number)
    await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    done = await housekeeping.sweep(runtime, utcnow() + timedelta(days=2))
    assert done["codes"] == 1 and done["grants"] == 0
    assert await count(runtime, OidcRefreshToken) == 2  # the spent one stays for reuse detection
    reused = await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert reused.json()["error"] == "invalid_grant"
    done = await housekeeping.sweep(runtime, utcnow() + timedelta(days=32))
    assert done["grants"] == 1
    assert await count(runtime, OidcGrant) == await count(runtime, OidcRefreshToken) == 0
    assert await count(runtime, OidcAuthorizationCode) == 0
