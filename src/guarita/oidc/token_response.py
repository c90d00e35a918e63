"""The successful token response (RFC 6749 §5.1; OpenID Connect Core 1.0 §3.1.3.3).

One place that signs what a grant hands out: the access token (RFC 9068), the ID token when
the grant came from an authorization with ``openid``, and the refresh token already stored by
the grant handler. Signing happens after the database transaction has committed, so no
transaction waits on cryptography.
"""

from __future__ import annotations

from guarita.domain.accounts import TrustLevel
from guarita.oidc import acr as acr_values
from guarita.oidc import claims, data_releases, profiles
from guarita.oidc.clients import Client
from guarita.oidc.grants import GrantRow
from guarita.oidc.issuer import issuer
from guarita.oidc.keys import keystore
from guarita.oidc.subject import subject
from guarita.oidc.tokens import Authentication, access_token, id_token
from guarita.runtime import Runtime


def sub_for(runtime: Runtime, client: Client, account_id: str) -> str:
    return subject(
        account_id, client.subject_type, client.sector_identifier, runtime.settings.secret()
    )


def audience(runtime: Runtime) -> str:
    return runtime.settings.oidc.access_token_audience or issuer(runtime)


async def for_grant(
    runtime: Runtime,
    client: Client,
    grant: GrantRow,
    *,
    scope: str,
    refresh_token: str | None,
    nonce: str | None,
    with_id_token: bool,
) -> dict:
    settings = runtime.settings.oidc
    store = await keystore(runtime)
    # The client's profile names the issuer, the sub and what the ID token adds (oidc/profiles.py).
    profile = profiles.of(client)
    found = await profile.authenticated(runtime, client, grant, scope)
    auth = Authentication(
        sub=found.sub,
        auth_time=int(grant.auth_time.timestamp()),
        acr=grant.acr or acr_values.value_of(TrustLevel.BRONZE),
        amr=found.amr if found.amr is not None else grant.amr,
        sid=grant.sid,
    )
    token, _ = access_token(
        store,
        issuer=profile.issuer(runtime),
        audience=profile.audience(runtime),
        client_id=client.id,
        alg=profile.access_token_alg(runtime),
        sub=auth.sub,
        scope=scope,
        ttl=settings.access_token_ttl_seconds,
        auth=auth,
        grant_id=grant.id,
    )
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl_seconds,
        "scope": scope,
    }
    if with_id_token and "openid" in scope.split():
        extra = found.id_token_claims
        if claims.GUARD_SCOPE in scope.split():
            # The fraud guard's hold, for the relying party's own sensitive acts.
            extra = {**extra, **await claims.hold_claims(runtime.db, grant.account_id)}
        body["id_token"] = id_token(
            store,
            issuer=profile.issuer(runtime),
            client_id=client.id,
            alg=client.id_token_alg,
            auth=auth,
            nonce=nonce,
            ttl=settings.id_token_ttl_seconds,
            extra=extra,
        )
        await data_releases.record(
            runtime, grant.account_id, client.id, data_releases.ID_TOKEN,
            data_releases.released_names(
                {"sub": auth.sub, **extra},
                sub_is_cpf=profile.name == profiles.GOVBR_NAME,
            ),
        )
    if refresh_token:
        body["refresh_token"] = refresh_token
    return body


async def for_client(runtime: Runtime, client: Client, scope: str) -> dict:
    """RFC 6749 §4.4.3: a back end acting for itself gets an access token and nothing else."""
    settings = runtime.settings.oidc
    store = await keystore(runtime)
    token, _ = access_token(
        store,
        issuer=issuer(runtime),
        audience=audience(runtime),
        client_id=client.id,
        alg=settings.access_token_alg,
        sub=client.id,
        scope=scope,
        ttl=settings.access_token_ttl_seconds,
    )
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }
    if scope:
        body["scope"] = scope
    return body
