"""Token revocation (RFC 7009).

A refresh token revokes its whole grant, and so every access token issued from it (§2.1: "SHOULD
also invalidate all access tokens based on the same authorization grant"). An access token is
revoked alone: its ``jti`` is kept until it would have expired. Unknown, malformed and expired
tokens get the same 200 as a success (§2.2); a token of another client is refused (§2.1).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select

from guarita.oidc import grants
from guarita.oidc.clients import Client
from guarita.oidc.errors import invalid_request
from guarita.oidc.keys import keystore
from guarita.oidc.settings import issuer
from guarita.oidc.tokens import UnreadableToken, opaque_hash, read
from guarita.runtime import Runtime
from guarita.storage.oidc_tables import OidcRefreshToken


async def revoke(runtime: Runtime, caller: Client, token: str | None, hint: str | None) -> None:
    if not token:
        raise invalid_request("token ausente")
    if len(token) > 8192:
        return
    if token.count(".") == 2:
        await _access_token(runtime, caller, token)
    else:
        await _refresh_token(runtime, caller, token)


async def _access_token(runtime: Runtime, caller: Client, token: str) -> None:
    store = await keystore(runtime)
    try:
        _, claims = read(store, token, typ="at+jwt")
    except UnreadableToken:
        return
    exp = claims.get("exp")
    if claims.get("iss") != issuer(runtime) or not isinstance(exp, int) or exp <= time.time():
        return
    if claims.get("client_id") != caller.id:
        raise invalid_request("token emitido para outro cliente")
    async with runtime.db.transaction() as session:
        await grants.revoke_access_token(
            session, str(claims.get("jti")), datetime.fromtimestamp(exp, UTC)
        )


async def _refresh_token(runtime: Runtime, caller: Client, token: str) -> None:
    async with runtime.db.transaction() as session:
        found = (
            await session.execute(
                select(OidcRefreshToken.grant_id, OidcRefreshToken.client_id).where(
                    OidcRefreshToken.token_hash == opaque_hash(token)
                )
            )
        ).first()
        if found is None:
            return
        if found.client_id != caller.id:
            raise invalid_request("token emitido para outro cliente")
        await grants.revoke(session, found.grant_id, grants.RevokedBecause.REVOKED_BY_CLIENT)
