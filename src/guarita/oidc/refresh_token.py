"""The ``refresh_token`` grant with rotation and reuse detection (RFC 6749 §6; RFC 9700
§4.14.2; OpenID Connect Core 1.0 §12).

Each refresh spends the token (``UPDATE … WHERE used_at IS NULL``: of two simultaneous uses,
exactly one wins) and issues the next one of the same family, the grant. A spent token presented
again means two parties hold the family: the grant is revoked, which ends every refresh and
access token issued from it; the revocation is committed even though the request fails. A
family also ends at its absolute lifetime, when the person's account stops being active, and
when the password changes (a sign-out everywhere must reach the apps too).

An ID token is returned with every refresh of a grant with ``openid`` (Core §12.2): same
``iss``, ``sub``, ``aud``, ``auth_time``, ``acr`` and ``sid`` as the first one, a new ``iat``,
no ``nonce``. A client that logs out with ``id_token_hint`` (RP-Initiated Logout §2) keeps a
token the end-session endpoint accepts after the first one expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from guarita.domain.accounts import AccountStatus
from guarita.oidc import grants
from guarita.oidc.authorization_code import audit_revocation, new_refresh_token
from guarita.oidc.clients import Client
from guarita.oidc.errors import OAuthError, OAuthErrorCode, invalid_grant, invalid_request
from guarita.oidc.events import OidcEvent
from guarita.oidc.token_response import for_grant
from guarita.oidc.tokens import opaque_hash
from guarita.runtime import Runtime
from guarita.storage import plain_sql as sql
from guarita.storage.accounts import tokens_ended
from guarita.storage.audit import RequestContext
from guarita.storage.types import utcnow


@dataclass(frozen=True)
class RefreshRow:
    token_hash: str
    client_id: str
    scope: str
    expires_at: datetime
    used_at: datetime | None


@dataclass
class Refresh:
    client: Client
    token: RefreshRow | None
    grant: grants.GrantRow | None
    account_status: str | None
    password_changed_at: datetime | None
    tokens_valid_after: datetime | None
    requested_scope: list[str] | None
    now: datetime


class Reused(Exception):
    """A spent refresh token came back: the family is revoked (committed) before answering."""


def token_exists(r: Refresh) -> None:
    if r.token is None or r.grant is None:
        raise invalid_grant("refresh_token desconhecido")


def issued_to_this_client(r: Refresh) -> None:
    """§6: the refresh token was issued to the authenticated client."""
    if r.token.client_id != r.client.id:
        raise invalid_grant("refresh_token emitido para outro cliente")


def not_spent(r: Refresh) -> None:
    if r.token.used_at is not None:
        raise Reused


def not_expired(r: Refresh) -> None:
    if r.token.expires_at <= r.now:
        raise invalid_grant("refresh_token expirado")


def family_live(r: Refresh) -> None:
    if not r.grant.live(r.now):
        raise invalid_grant("autorizacao revogada ou expirada")


def account_active(r: Refresh) -> None:
    if r.account_status != AccountStatus.ACTIVE:
        raise invalid_grant("conta desativada")


def password_unchanged(r: Refresh) -> None:
    """A password change or recovery ends every session; the apps' families end with them."""
    if r.password_changed_at is not None and r.password_changed_at > r.grant.created_at:
        raise invalid_grant("a senha mudou depois da autorizacao; entre de novo")


def not_ended_by_the_person(r: Refresh) -> None:
    """A recovery, a lock or a disable ended every app's grant made before it."""
    if tokens_ended(r.tokens_valid_after, r.grant.created_at):
        raise invalid_grant("a conta foi protegida depois da autorizacao; entre de novo")


def scope_within_grant(r: Refresh) -> None:
    """§6: a narrower scope may be asked for, never a wider one."""
    if r.requested_scope is not None and not set(r.requested_scope) <= set(r.token.scope.split()):
        raise OAuthError(OAuthErrorCode.INVALID_SCOPE, "escopo maior que o autorizado")


CHECKS = [
    token_exists,
    issued_to_this_client,
    not_spent,
    not_expired,
    family_live,
    account_active,
    password_unchanged,
    not_ended_by_the_person,
    scope_within_grant,
]

_FIND = sql.Sql(
    "SELECT r.token_hash, r.client_id, r.scope, r.expires_at, r.used_at, "  # noqa: S608 - constants only
    f"{grants.GRANT_COLUMNS}, a.status, cr.changed_at, a.tokens_valid_after "
    "FROM oidc_refresh_tokens r JOIN oidc_grants g ON g.id = r.grant_id "
    "JOIN accounts a ON a.id = g.account_id "
    "LEFT JOIN credentials cr ON cr.account_id = a.id AND cr.kind = 'password' "
    "WHERE r.token_hash = :token_hash"
)
_SPEND = sql.Sql(
    "UPDATE oidc_refresh_tokens SET used_at = :now "
    "WHERE token_hash = :token_hash AND used_at IS NULL"
)


def _refresh(
    client: Client, values: tuple | None, requested: list[str] | None, now: datetime
) -> Refresh:
    if values is None:
        return Refresh(client, None, None, None, None, None, requested, now)
    token = RefreshRow(values[0], values[1], values[2], sql.when(values[3]), sql.when(values[4]))
    width = 5 + grants.GRANT_WIDTH
    return Refresh(
        client,
        token,
        grants.GrantRow.of(values[5:width]),
        values[width],
        sql.when(values[width + 1]),
        sql.when(values[width + 2]),
        requested,
        now,
    )


async def exchange(
    runtime: Runtime, client: Client, form: dict[str, str], context: RequestContext
) -> dict:
    presented = form.get("refresh_token")
    if not presented:
        raise invalid_request("refresh_token e obrigatorio")
    requested = form["scope"].split() if form.get("scope") else None
    now = utcnow()

    async def rotate(tx: sql.Tx) -> tuple[Refresh, bool, str | None]:
        r = _refresh(client, await tx.one(_FIND, token_hash=opaque_hash(presented)), requested, now)
        try:
            for check in CHECKS:
                check(r)
            if not await tx.run(_SPEND, token_hash=r.token.token_hash, now=now):
                raise Reused
        except Reused:
            await grants.revoke(tx, r.grant.id, grants.RevokedBecause.REFRESH_REUSED, now)
            return r, True, None
        return (
            r,
            False,
            await new_refresh_token(tx, runtime, r.grant, client.id, r.token.scope, now),
        )

    r, reused, refresh = await sql.write(runtime.db, rotate)
    if reused:
        await audit_revocation(runtime, OidcEvent.REFRESH_TOKEN_REUSED, r.grant, client, context)
        raise invalid_grant("refresh_token ja usado; a autorizacao foi revogada")
    scope = " ".join(requested) if requested else r.token.scope
    return await for_grant(
        runtime,
        client,
        r.grant,
        scope=scope,
        refresh_token=refresh,
        nonce=None,
        with_id_token=True,
    )
