"""The authorization code: issued at the authorization endpoint, redeemed at the token endpoint
(RFC 6749 §4.1.2, §4.1.3, §10.5; RFC 7636 §4.5–§4.6; OpenID Connect Core 1.0 §3.1.3.2).

Redemption runs ordered checks (node-oidc-provider ``lib/actions/grants/authorization_code.js``)
and spends the code with ``UPDATE … WHERE used_at IS NULL`` inside the same transaction, so of
two simultaneous redemptions exactly one wins. A code presented again — replay, or the loser of
that race — revokes the grant it started, and with it every token it issued (§4.1.2: "SHOULD
revoke"); that revocation is committed even though the request fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from guarita.oidc import acr as acr_values
from guarita.oidc import grants, pkce
from guarita.oidc.authorization import AuthorizationRequest
from guarita.oidc.claims import Person
from guarita.oidc.clients import Client
from guarita.oidc.errors import invalid_grant, invalid_request
from guarita.oidc.events import OidcEvent
from guarita.oidc.token_response import for_grant
from guarita.oidc.tokens import new_opaque, opaque_hash
from guarita.runtime import Runtime
from guarita.services.sessions import SessionInfo
from guarita.storage import plain_sql as sql
from guarita.storage.audit import RequestContext, record
from guarita.storage.types import utcnow


async def issue(
    runtime: Runtime,
    client: Client,
    request: AuthorizationRequest,
    signed_in: SessionInfo,
    person: Person,
    context: RequestContext,
) -> str:
    """Creates the grant and its code in one transaction; returns the code (shown once)."""
    settings = runtime.settings.oidc
    now = utcnow()
    code = new_opaque()
    async with runtime.db.transaction() as session:
        # One unit of work with the audit event; the token tables take plain SQL only.
        tx = sql.in_session(session)
        grant_id = await grants.create(
            tx,
            client_id=client.id,
            account_id=person.account_id,
            scope=request.scope,
            sid=signed_in.sid,
            auth_time=signed_in.auth_time,
            # A request that asked only for two factors gets that answer (Core §2 ``acr``).
            acr=(acr_values.MFA if request.mfa and not request.acr_levels
                 and "mfa" in (signed_in.amr or ()) else acr_values.value_of(person.trust_level)),
            amr=list(signed_in.amr or ("pwd",)),
            lifetime=timedelta(seconds=settings.refresh_token_absolute_seconds),
            now=now,
        )
        await tx.run(
            _NEW_CODE,
            code_hash=opaque_hash(code),
            grant_id=grant_id,
            client_id=client.id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            nonce=request.nonce,
            now=now,
            expires_at=now + timedelta(seconds=settings.code_ttl_seconds),
        )
        await record(
            session,
            OidcEvent.AUTHORIZED,
            subject=person.account_id,
            context=context,
            details={"client_id": client.id, "scope": request.scope},
        )
    return code


@dataclass(frozen=True)
class CodeRow:
    code_hash: str
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    expires_at: datetime
    used_at: datetime | None


# GRANT_COLUMNS is a constant of this package: no outside text reaches these statements.
_FIND = sql.Sql(
    "SELECT c.code_hash, c.client_id, c.redirect_uri, c.code_challenge, c.code_challenge_method, "  # noqa: S608 - constants only
    f"c.nonce, c.expires_at, c.used_at, {grants.GRANT_COLUMNS} "
    "FROM oidc_authorization_codes c JOIN oidc_grants g ON g.id = c.grant_id "
    "WHERE c.code_hash = :code_hash"
)
_NEW_CODE = sql.Sql(
    "INSERT INTO oidc_authorization_codes (code_hash, grant_id, client_id, redirect_uri, "
    "code_challenge, code_challenge_method, nonce, created_at, expires_at) VALUES (:code_hash, "
    ":grant_id, :client_id, :redirect_uri, :code_challenge, :code_challenge_method, :nonce, :now, "
    ":expires_at)"
)
_SPEND = sql.Sql(
    "UPDATE oidc_authorization_codes SET used_at = :now "
    "WHERE code_hash = :code_hash AND used_at IS NULL"
)
_NEW_REFRESH_TOKEN = sql.Sql(
    "INSERT INTO oidc_refresh_tokens "
    "(token_hash, grant_id, client_id, scope, created_at, expires_at) "
    "VALUES (:token_hash, :grant_id, :client_id, :scope, :now, :expires_at)"
)


def _row(values: tuple | None) -> tuple[CodeRow | None, grants.GrantRow | None]:
    if values is None:
        return None, None
    code = CodeRow(
        values[0],
        values[1],
        values[2],
        values[3],
        values[4],
        values[5],
        sql.when(values[6]),
        sql.when(values[7]),
    )
    return code, grants.GrantRow.of(values[8:])


@dataclass
class Redemption:
    """What the checks look at (one row of the code joined with its grant)."""

    client: Client
    code: CodeRow | None
    grant: grants.GrantRow | None
    redirect_uri: str
    verifier: str | None
    now: datetime


class Replayed(Exception):
    """The code was already spent: its grant is revoked (committed) before answering."""


def code_exists(r: Redemption) -> None:
    if r.code is None or r.grant is None:
        raise invalid_grant("codigo de autorizacao desconhecido")


def issued_to_this_client(r: Redemption) -> None:
    """§4.1.3: the code was issued to the authenticated client."""
    if r.code.client_id != r.client.id:
        raise invalid_grant("codigo emitido para outro cliente")


def not_spent(r: Redemption) -> None:
    if r.code.used_at is not None:
        raise Replayed


def not_expired(r: Redemption) -> None:
    if r.code.expires_at <= r.now:
        raise invalid_grant("codigo de autorizacao expirado")


def same_redirect_uri(r: Redemption) -> None:
    """§4.1.3: identical to the one of the authorization request."""
    if r.code.redirect_uri != r.redirect_uri:
        raise invalid_grant("redirect_uri diferente do usado no pedido de autorizacao")


def pkce_verified(r: Redemption) -> None:
    """RFC 7636 §4.6; also refuses a verifier for a code issued without a challenge."""
    if not pkce.verifier_matches(r.verifier, r.code.code_challenge, r.code.code_challenge_method):
        raise invalid_grant("code_verifier nao confere com o code_challenge")


def grant_live(r: Redemption) -> None:
    if not r.grant.live(r.now):
        raise invalid_grant("autorizacao revogada")


CHECKS = [
    code_exists,
    issued_to_this_client,
    not_spent,
    not_expired,
    same_redirect_uri,
    pkce_verified,
    grant_live,
]


async def new_refresh_token(
    tx: sql.Tx, runtime: Runtime, grant: grants.GrantRow, client_id: str, scope: str, now: datetime
) -> str:
    """The next refresh token of the grant's family; never outlives the family."""
    settings = runtime.settings.oidc
    token = new_opaque()
    expires = min(now + timedelta(seconds=settings.refresh_token_idle_seconds), grant.expires_at)
    await tx.run(
        _NEW_REFRESH_TOKEN,
        token_hash=opaque_hash(token),
        grant_id=grant.id,
        client_id=client_id,
        scope=scope,
        now=now,
        expires_at=expires,
    )
    return token


async def audit_revocation(
    runtime: Runtime,
    event: OidcEvent,
    grant: grants.GrantRow,
    client: Client,
    context: RequestContext,
) -> None:
    async with runtime.db.transaction() as session:
        await record(
            session,
            event,
            subject=grant.account_id,
            context=context,
            details={"client_id": client.id, "grant_id": grant.id},
        )


async def exchange(
    runtime: Runtime, client: Client, form: dict[str, str], context: RequestContext
) -> dict:
    """The ``authorization_code`` grant (§4.1.3)."""
    code = form.get("code")
    redirect_uri = form.get("redirect_uri")
    if not code or not redirect_uri:
        raise invalid_request("code e redirect_uri sao obrigatorios")
    now = utcnow()
    verifier = form.get("code_verifier")

    async def redeem(tx: sql.Tx) -> tuple[CodeRow | None, grants.GrantRow | None, bool, str | None]:
        found, grant = _row(await tx.one(_FIND, code_hash=opaque_hash(code)))
        try:
            for check in CHECKS:
                check(Redemption(client, found, grant, redirect_uri, verifier, now))
            if not await tx.run(_SPEND, code_hash=found.code_hash, now=now):
                raise Replayed
        except Replayed:
            await grants.revoke(tx, grant.id, grants.RevokedBecause.CODE_REPLAYED, now)
            return found, grant, True, None
        refresh = None
        if "refresh_token" in client.grant_types:
            refresh = await new_refresh_token(tx, runtime, grant, client.id, grant.scope, now)
        return found, grant, False, refresh

    found, grant, replayed, refresh = await sql.write(runtime.db, redeem)
    if replayed:
        await audit_revocation(runtime, OidcEvent.CODE_REPLAYED, grant, client, context)
        raise invalid_grant("codigo de autorizacao ja usado; os tokens emitidos foram revogados")
    return await for_grant(
        runtime,
        client,
        grant,
        scope=grant.scope,
        refresh_token=refresh,
        nonce=found.nonce,
        with_id_token=True,
    )
