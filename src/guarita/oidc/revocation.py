"""Token revocation (RFC 7009).

A refresh token revokes its whole grant, and so every access token issued from it (§2.1: "SHOULD
also invalidate all access tokens based on the same authorization grant"). An access token is
revoked alone: its ``jti`` is kept until it would have expired. Unknown, malformed and expired
tokens get the same 200 as a success (§2.2). A token of another client is answered exactly
like an unknown one — 200, and nothing is revoked (§2.1: the server "verifies whether the token
was issued to the client making the revocation request"): a distinct answer would let any
client learn that a token it found is live, and revoking it would let it sign a person out of
another app.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from guarita.oidc import grants
from guarita.oidc.clients import Client
from guarita.oidc.errors import invalid_request
from guarita.oidc.issuer import issuer
from guarita.oidc.keys import keystore
from guarita.oidc.tokens import UnreadableToken, opaque_hash, read
from guarita.runtime import Runtime
from guarita.storage import plain_sql as sql

_FIND_REFRESH_TOKEN = sql.Sql(
    "SELECT grant_id, client_id FROM oidc_refresh_tokens WHERE token_hash = :token_hash"
)


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
        # RFC 7009 §2.2: another client's token is answered 200 and left alone.
        return
    jti, expires_at = str(claims.get("jti")), datetime.fromtimestamp(exp, UTC)

    async def remember(tx: sql.Tx) -> None:
        await grants.revoke_access_token(tx, jti, expires_at)

    await sql.write(runtime.db, remember)


async def _refresh_token(runtime: Runtime, caller: Client, token: str) -> None:
    async def revoke_family(tx: sql.Tx) -> None:
        found = await tx.one(_FIND_REFRESH_TOKEN, token_hash=opaque_hash(token))
        if found is None:
            return
        grant_id, client_id = found
        if client_id != caller.id:
            return
        await grants.revoke(tx, grant_id, grants.RevokedBecause.REVOKED_BY_CLIENT)

    await sql.write(runtime.db, revoke_family)
