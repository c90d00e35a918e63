"""Token introspection (RFC 7662), for the organisation's back ends.

Only confidential clients may ask (§2.1). A first-party client (the organisation's own resource
servers) may introspect any token; a third-party client only the tokens issued to it. Anything
else — unknown, expired, revoked, not the caller's — is simply ``{"active": false}`` (§2.2), so
the endpoint tells nothing about tokens the caller could not use anyway.
"""

from __future__ import annotations

from guarita.oidc import clients, grants
from guarita.oidc.clients import Client
from guarita.oidc.errors import OAuthError, invalid_client
from guarita.oidc.issuer import issuer
from guarita.oidc.token_response import sub_for
from guarita.oidc.tokens import opaque_hash
from guarita.oidc.userinfo import verified_claims
from guarita.runtime import Runtime
from guarita.storage import plain_sql as sql
from guarita.storage.accounts import tokens_ended
from guarita.storage.types import utcnow

INACTIVE = {"active": False}
AT_FIELDS = ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "auth_time", "acr")


def may_see(caller: Client, client_id: str | None) -> bool:
    return caller.first_party or client_id == caller.id


async def introspect(runtime: Runtime, caller: Client, token: str | None, hint: str | None) -> dict:
    if caller.public:
        raise invalid_client("clientes publicos nao usam a introspeccao")
    if not token or len(token) > 8192:
        return INACTIVE
    looks_like_jwt = token.count(".") == 2
    if looks_like_jwt:
        return await _access_token(runtime, caller, token)
    return await _refresh_token(runtime, caller, token)


async def _access_token(runtime: Runtime, caller: Client, token: str) -> dict:
    try:
        claims = await verified_claims(runtime, token)
    except OAuthError:
        return INACTIVE
    if not may_see(caller, claims.get("client_id")):
        return INACTIVE

    async def account(tx: sql.Tx) -> str | None:
        return await grants.account_of_live_token(tx, claims.get("gid"), claims.get("jti"))

    if await sql.read(runtime.db, account) is None:
        return INACTIVE
    found = {"active": True, "token_type": "Bearer"}
    found.update({k: claims[k] for k in AT_FIELDS if k in claims})
    return found


_REFRESH = sql.Sql(
    f"SELECT r.client_id, r.scope, r.created_at, r.expires_at, r.used_at, {grants.GRANT_COLUMNS}, "  # noqa: S608 - constants only
    "a.status, a.tokens_valid_after, cr.changed_at "
    "FROM oidc_refresh_tokens r JOIN oidc_grants g ON g.id = r.grant_id "
    "JOIN accounts a ON a.id = g.account_id "
    "LEFT JOIN credentials cr ON cr.account_id = a.id AND cr.kind = 'password' "
    "WHERE r.token_hash = :token_hash"
)


async def _refresh_token(runtime: Runtime, caller: Client, token: str) -> dict:
    now = utcnow()

    async def find(tx: sql.Tx) -> tuple | None:
        return await tx.one(_REFRESH, token_hash=opaque_hash(token))

    row = await sql.read(runtime.db, find)
    if row is None:
        return INACTIVE
    client_id, scope, created_at, expires_at, used_at = row[:5]
    width = 5 + grants.GRANT_WIDTH
    grant = grants.GrantRow.of(row[5:width])
    status, tokens_valid_after, password_changed_at = row[width:width + 3]
    password_changed_at = sql.when(password_changed_at)
    # The refresh grant's own checks (oidc/refresh_token.py), so that introspection never calls
    # active a token the token endpoint would refuse.
    if (
        used_at is not None
        or sql.when(expires_at) <= now
        or not grant.live(now)
        or status != "active"
        or tokens_ended(sql.when(tokens_valid_after), grant.created_at)
        or (password_changed_at is not None and password_changed_at > grant.created_at)
        or not may_see(caller, client_id)
    ):
        return INACTIVE
    owner = await clients.cached(runtime, client_id)
    if owner is None:
        return INACTIVE
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": scope,
        "client_id": client_id,
        "sub": sub_for(runtime, owner, grant.account_id),
        "iss": issuer(runtime),
        "iat": int(sql.when(created_at).timestamp()),
        "exp": int(sql.when(expires_at).timestamp()),
    }
