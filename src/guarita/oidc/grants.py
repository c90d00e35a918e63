"""Grants: one authorization of one client by one person, and the revocation of everything
issued from it (RFC 6749 §4.1.2 and §10.5 on code replay; RFC 9700 §4.14.2 on refresh token
families; RFC 7009 §2.1 on revoking a refresh token and the access tokens of its grant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.oidc.claims import OFFLINE_ACCESS
from guarita.oidc.tokens import new_id
from guarita.storage import plain_sql as sql
from guarita.storage.oidc_tables import OidcGrant, OidcRefreshToken, OidcRevokedAccessToken
from guarita.storage.types import utcnow


class RevokedBecause:
    """Why a grant ended (``oidc_grants.revoked_reason``)."""

    CODE_REPLAYED = "code_replayed"
    REFRESH_REUSED = "refresh_token_reused"
    REVOKED_BY_CLIENT = "revoked_by_client"
    REVOKED_BY_PERSON = "revoked_by_person"
    LOGOUT = "logout"


async def create(
    session: AsyncSession,
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
) -> OidcGrant:
    now = now or utcnow()
    grant = OidcGrant(
        id=new_id(),
        client_id=client_id,
        account_id=account_id,
        scope=scope,
        sid=sid,
        auth_time=auth_time,
        acr=acr,
        amr=list(amr),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(grant)
    # No ORM relationships between these tables: flush now so the code's foreign key finds it.
    await session.flush()
    return grant


async def revoke(
    session: AsyncSession, grant_id: str, reason: str, now: datetime | None = None
) -> bool:
    result = await session.execute(
        update(OidcGrant)
        .where(OidcGrant.id == grant_id, OidcGrant.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_reason=reason)
    )
    return bool(result.rowcount)


async def revoke_where(
    session: AsyncSession, *conditions, reason: str, now: datetime | None = None
) -> int:
    result = await session.execute(
        update(OidcGrant)
        .where(OidcGrant.revoked_at.is_(None), *conditions)
        .values(revoked_at=now or utcnow(), revoked_reason=reason)
    )
    return result.rowcount or 0


async def revoke_session_grants(
    session: AsyncSession, sid: str, *, client_id: str | None = None
) -> int:
    """RP-Initiated Logout: the grants made under that sign-in end with it, except those the
    person allowed to last (``offline_access``, OpenID Connect Core §11)."""
    conditions = [OidcGrant.sid == sid, ~OidcGrant.scope.contains(OFFLINE_ACCESS)]
    if client_id:
        conditions.append(OidcGrant.client_id == client_id)
    return await revoke_where(session, *conditions, reason=RevokedBecause.LOGOUT)


async def revoke_access_token(session: AsyncSession, jti: str, expires_at: datetime) -> None:
    if await session.get(OidcRevokedAccessToken, jti) is None:
        session.add(OidcRevokedAccessToken(jti=jti, expires_at=expires_at))


@dataclass
class ConnectedGrant:
    client_id: str
    scopes: list[str]
    first_at: datetime
    last_at: datetime


async def live_for_account(session: AsyncSession, account_id: str) -> list[ConnectedGrant]:
    """Clients holding a live refresh token of this person ("Aplicativos conectados")."""
    now = utcnow()
    rows = await session.execute(
        select(
            OidcGrant.client_id,
            OidcGrant.scope,
            OidcGrant.created_at,
            func.max(OidcRefreshToken.created_at),
        )
        .join(
            OidcRefreshToken,
            and_(
                OidcRefreshToken.grant_id == OidcGrant.id,
                OidcRefreshToken.used_at.is_(None),
                OidcRefreshToken.expires_at > now,
            ),
        )
        .where(
            OidcGrant.account_id == account_id,
            OidcGrant.revoked_at.is_(None),
            OidcGrant.expires_at > now,
        )
        .group_by(OidcGrant.id, OidcGrant.client_id, OidcGrant.scope, OidcGrant.created_at)
    )
    found: dict[str, ConnectedGrant] = {}
    for client_id, scope, created_at, last_at in rows:
        item = found.get(client_id)
        if item is None:
            found[client_id] = ConnectedGrant(
                client_id, scope.split(), created_at, last_at or created_at
            )
        else:
            item.scopes = list(dict.fromkeys(item.scopes + scope.split()))
            item.first_at = min(item.first_at, created_at)
            item.last_at = max(item.last_at, last_at or created_at)
    return list(found.values())


async def revoke_for_client(
    session: AsyncSession, account_id: str, client_id: str, reason: str
) -> int:
    return await revoke_where(
        session, OidcGrant.account_id == account_id, OidcGrant.client_id == client_id, reason=reason
    )


def live(grant: OidcGrant, now: datetime) -> bool:
    return grant.revoked_at is None and grant.expires_at > now


# -- the hot paths' view of a grant (plain SQL, storage/plain_sql.py) ------------------------------------
GRANT_COLUMNS = (
    "g.id, g.account_id, g.scope, g.sid, g.auth_time, g.acr, g.amr, g.created_at, "
    "g.expires_at, g.revoked_at"
)
GRANT_WIDTH = 10


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


REVOKE = sql.Sql(
    "UPDATE oidc_grants SET revoked_at = :now, revoked_reason = :reason "
    "WHERE id = :id AND revoked_at IS NULL"
)
TOKEN_STATE = sql.Sql(
    "SELECT g.account_id, g.revoked_at, "
    "(SELECT COUNT(*) FROM oidc_revoked_access_tokens r WHERE r.jti = :jti) "
    "FROM oidc_grants g WHERE g.id = :gid"
)
JTI_REVOKED = sql.Sql("SELECT COUNT(*) FROM oidc_revoked_access_tokens WHERE jti = :jti")


async def account_of_live_token(tx: sql.Tx, grant_id: str | None, jti: str | None) -> str | None:
    """The account behind an access token, or None when the token or its grant was revoked.
    A client_credentials token has no grant: then only its own revocation counts, and the
    answer is the empty string."""
    if not grant_id:
        row = await tx.one(JTI_REVOKED, jti=jti or "")
        return "" if row and not row[0] else None
    row = await tx.one(TOKEN_STATE, gid=grant_id, jti=jti or "")
    if row is None or row[1] is not None or row[2]:
        return None
    return row[0]
