"""Grants: one authorization of one client by one person, and the revocation of everything
issued from it (RFC 6749 §4.1.2 and §10.5 on code replay; RFC 9700 §4.14.2 on refresh token
families; RFC 7009 §2.1 on revoking a refresh token and the access tokens of its grant).

The grant table, like the other token tables (codes, refresh tokens, revoked access tokens), is
read and written only through the plain-SQL statements of the provider (``storage/plain_sql.py``):
the token endpoint reads and revokes grants on its fast path, so every other writer uses the same
statements. Where a change must commit together with rows written through the ORM (the audit
event of a new grant, the session a logout ends), the statements run inside that unit of work
(``plain_sql.in_session``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from guarita.oidc.claims import OFFLINE_ACCESS
from guarita.oidc.tokens import new_id
from guarita.storage import plain_sql as sql
from guarita.storage.accounts import tokens_ended
from guarita.storage.types import utcnow


class RevokedBecause:
    """Why a grant ended (``oidc_grants.revoked_reason``)."""

    CODE_REPLAYED = "code_replayed"
    REFRESH_REUSED = "refresh_token_reused"
    REVOKED_BY_CLIENT = "revoked_by_client"
    REVOKED_BY_PERSON = "revoked_by_person"
    LOGOUT = "logout"


_CREATE = sql.Sql(
    "INSERT INTO oidc_grants "
    "(id, client_id, account_id, scope, sid, auth_time, acr, amr, created_at, expires_at) "
    "VALUES (:id, :client_id, :account_id, :scope, :sid, :auth_time, :acr, :amr, :now, "
    ":expires_at)"
)
_REVOKE = sql.Sql(
    "UPDATE oidc_grants SET revoked_at = :now, revoked_reason = :reason "
    "WHERE id = :id AND revoked_at IS NULL"
)
_REVOKE_SESSION = sql.Sql(
    "UPDATE oidc_grants SET revoked_at = :now, revoked_reason = :reason "
    "WHERE sid = :sid AND revoked_at IS NULL AND scope NOT LIKE :offline_access"
)
_REVOKE_CLIENT_OF_ACCOUNT = sql.Sql(
    "UPDATE oidc_grants SET revoked_at = :now, revoked_reason = :reason "
    "WHERE account_id = :account_id AND client_id = :client_id AND revoked_at IS NULL"
)
_REVOKE_CLIENT = sql.Sql(
    "UPDATE oidc_grants SET revoked_at = :now, revoked_reason = :reason "
    "WHERE client_id = :client_id AND revoked_at IS NULL"
)
_REVOKE_ACCESS_TOKEN = sql.Sql(
    "INSERT INTO oidc_revoked_access_tokens (jti, expires_at) VALUES (:jti, :expires_at) "
    "ON CONFLICT (jti) DO NOTHING"
)
_LIVE_FOR_ACCOUNT = sql.Sql(
    "SELECT g.client_id, g.scope, g.created_at, MAX(r.created_at) "
    "FROM oidc_grants g JOIN oidc_refresh_tokens r "
    "ON r.grant_id = g.id AND r.used_at IS NULL AND r.expires_at > :now "
    "JOIN accounts a ON a.id = g.account_id "
    "WHERE g.account_id = :account_id AND g.revoked_at IS NULL AND g.expires_at > :now "
    # A sign-out everywhere (password change, recovery, lock, disable) ended the older grants.
    "AND (a.tokens_valid_after IS NULL OR g.created_at >= a.tokens_valid_after) "
    "GROUP BY g.id, g.client_id, g.scope, g.created_at"
)


async def create(
    tx: sql.Tx,
    *,
    client_id: str,
    account_id: str,
    scope: str,
    sid: str | None,
    auth_time: datetime,
    acr: str | None,
    amr: list[str],
    lifetime: timedelta,
    now: datetime | None = None,
) -> str:
    """Creates the grant; returns its id."""
    now = now or utcnow()
    grant_id = new_id()
    await tx.run(
        _CREATE,
        id=grant_id,
        client_id=client_id,
        account_id=account_id,
        scope=scope,
        sid=sid,
        auth_time=auth_time,
        acr=acr,
        amr=json.dumps(list(amr)),
        now=now,
        expires_at=now + lifetime,
    )
    return grant_id


async def revoke(tx: sql.Tx, grant_id: str, reason: str, now: datetime | None = None) -> bool:
    return bool(await tx.run(_REVOKE, id=grant_id, reason=reason, now=now or utcnow()))


async def revoke_session_grants(tx: sql.Tx, sid: str) -> int:
    """RP-Initiated Logout: the grants made under that sign-in end with it, except those the
    person allowed to last (``offline_access``, OpenID Connect Core §11)."""
    return await tx.run(
        _REVOKE_SESSION,
        sid=sid,
        offline_access=f"%{OFFLINE_ACCESS}%",
        reason=RevokedBecause.LOGOUT,
        now=utcnow(),
    )


async def revoke_for_client(tx: sql.Tx, account_id: str, client_id: str, reason: str) -> int:
    """Every grant of one client for one person ("Aplicativos conectados" › Desconectar)."""
    return await tx.run(
        _REVOKE_CLIENT_OF_ACCOUNT,
        account_id=account_id,
        client_id=client_id,
        reason=reason,
        now=utcnow(),
    )


async def revoke_client(tx: sql.Tx, client_id: str, reason: str) -> int:
    """Every grant of a client (the client is disabled: ``guarita clients disable``)."""
    return await tx.run(_REVOKE_CLIENT, client_id=client_id, reason=reason, now=utcnow())


async def revoke_access_token(tx: sql.Tx, jti: str, expires_at: datetime) -> None:
    """RFC 7009 §2.1: one access token, remembered until it would have expired anyway."""
    await tx.run(_REVOKE_ACCESS_TOKEN, jti=jti, expires_at=expires_at)


@dataclass
class ConnectedGrant:
    client_id: str
    scopes: list[str]
    first_at: datetime
    last_at: datetime


async def live_for_account(tx: sql.Tx, account_id: str) -> list[ConnectedGrant]:
    """Clients holding a live refresh token of this person ("Aplicativos conectados")."""
    rows = await tx.all(_LIVE_FOR_ACCOUNT, account_id=account_id, now=utcnow())
    found: dict[str, ConnectedGrant] = {}
    for client_id, scope, created, last in rows:
        created_at, last_at = sql.when(created), sql.when(last) or sql.when(created)
        item = found.get(client_id)
        if item is None:
            found[client_id] = ConnectedGrant(client_id, scope.split(), created_at, last_at)
        else:
            item.scopes = list(dict.fromkeys(item.scopes + scope.split()))
            item.first_at = min(item.first_at, created_at)
            item.last_at = max(item.last_at, last_at)
    return list(found.values())


# -- the hot paths' view of a grant (plain SQL, storage/plain_sql.py) ------------------------------------
GRANT_COLUMNS = (
    "g.id, g.account_id, g.scope, g.sid, g.auth_time, g.acr, g.amr, g.created_at, "
    "g.expires_at, g.revoked_at"
)
GRANT_WIDTH = 10  # the number of GRANT_COLUMNS


@dataclass(frozen=True)
class GrantRow:
    id: str
    account_id: str
    scope: str
    sid: str | None
    auth_time: datetime
    acr: str | None
    amr: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, values: tuple) -> GrantRow:
        (id_, account_id, scope, sid, auth_time, acr, amr, created_at, expires_at, revoked_at) = (
            values
        )
        return cls(
            id_,
            account_id,
            scope,
            sid,
            sql.when(auth_time),
            acr,
            tuple(sql.data(amr) or ()),
            sql.when(created_at),
            sql.when(expires_at),
            sql.when(revoked_at),
        )

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


TOKEN_STATE = sql.Sql(
    "SELECT g.account_id, g.revoked_at, "
    "(SELECT COUNT(*) FROM oidc_revoked_access_tokens r WHERE r.jti = :jti), "
    "a.status, g.created_at, a.tokens_valid_after "
    "FROM oidc_grants g JOIN accounts a ON a.id = g.account_id WHERE g.id = :gid"
)
JTI_REVOKED = sql.Sql("SELECT COUNT(*) FROM oidc_revoked_access_tokens WHERE jti = :jti")


async def account_of_live_token(tx: sql.Tx, grant_id: str | None, jti: str | None) -> str | None:
    """The account behind an access token, or None when the token or its grant was revoked,
    the account is not active, or a sign-out everywhere ended the grant (the same checks as
    the refresh grant). A client_credentials token has no grant: then only its own revocation
    counts, and the answer is the empty string."""
    if not grant_id:
        row = await tx.one(JTI_REVOKED, jti=jti or "")
        return "" if row and not row[0] else None
    row = await tx.one(TOKEN_STATE, gid=grant_id, jti=jti or "")
    if row is None or row[1] is not None or row[2] or row[3] != "active":
        return None
    if tokens_ended(sql.when(row[5]), sql.when(row[4])):
        return None
    return row[0]
