"""The UserInfo endpoint (OpenID Connect Core 1.0 §5.3; bearer tokens per RFC 6750 §2).

The access token is read in memory (RFC 9068 §4: signature, ``typ``, ``iss``, ``aud``,
``exp``); then one query checks that neither it nor its grant was revoked and names the account,
and one or two read the person. ``openid`` must be among the token's scopes (§5.3.1).
"""

from __future__ import annotations

from guarita.domain.accounts import AccountStatus
from guarita.oidc import clients, data_releases
from guarita.oidc.claims import Person, needs_identifiers, person_of_token
from guarita.oidc.errors import insufficient_scope, invalid_request, invalid_token
from guarita.oidc.keys import keystore
from guarita.oidc.profiles import GOVBR_NAME, STANDARD, Profile
from guarita.oidc.tokens import UnreadableToken, read_access_token
from guarita.runtime import Runtime
from guarita.storage import plain_sql as sql


def bearer(authorization: str | None, form_token: str | None) -> str:
    """RFC 6750 §2.1 header or §2.2 form body, never both (§2); the query string (§2.3) is not
    read: URLs end up in logs and browser history."""
    header_token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            header_token = value.strip()
    if header_token and form_token:
        raise invalid_request("envie o token de um jeito so")
    token = header_token or form_token
    if not token:
        error = invalid_token("token ausente")
        # §3.1: a request without any credentials gets a challenge without an error code.
        error.headers = {"WWW-Authenticate": 'Bearer realm="guarita"'}
        raise error
    return token


async def verified_claims(runtime: Runtime, token: str, profile: Profile = STANDARD) -> dict:
    """The claims of an unexpired access token Guarita signed for this profile's issuer, or
    ``invalid_token``."""
    store = await keystore(runtime)
    for attempt in (1, 2):
        try:
            return read_access_token(
                store, token, issuer=profile.issuer(runtime), audience=profile.audience(runtime)
            )
        except UnreadableToken as exc:
            if attempt == 1 and str(exc) == "kid desconhecido":
                # Signed with a key another process made (a rotation); look at the table again.
                store = await keystore(runtime, refresh=True)
                continue
            raise invalid_token() from None
    raise invalid_token()  # pragma: no cover


async def userinfo(runtime: Runtime, token: str, profile: Profile = STANDARD) -> dict:
    claims = await verified_claims(runtime, token, profile)
    scopes = claims.get("scope", "").split()
    if "openid" not in scopes or not claims.get("gid"):
        raise insufficient_scope("openid")
    client = await clients.cached(runtime, claims.get("client_id", ""))
    if client is None or not client.active or client.profile != profile.name:
        raise invalid_token()

    async def person_behind(tx: sql.Tx) -> Person | None:
        return await person_of_token(
            tx, claims["gid"], claims.get("jti"), identifiers=needs_identifiers(scopes)
        )

    person = await sql.read(runtime.db, person_behind)
    if person is None or person.status != AccountStatus.ACTIVE:
        raise invalid_token("token revogado ou conta indisponivel")
    released = profile.userinfo_claims(person, scopes, claims["sub"])
    await data_releases.record(
        runtime, person.account_id, client.id, data_releases.USERINFO,
        data_releases.released_names(released, sub_is_cpf=profile.name == GOVBR_NAME),
    )
    return released
