"""The token endpoint: code exchange, PKCE, code reuse, refresh rotation, client
authentication, client_credentials and the error format (RFC 6749 §4.1.3, §5, §6; RFC 7636
§4.5; RFC 7523; OpenID Connect Core 1.0 §3.1.3, §9)."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from datetime import timedelta

import pytest
import time_machine
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey
from sqlalchemy import select

from guarita.storage.oidc_tables import OidcAuthorizationCode, OidcGrant
from guarita.storage.types import utcnow
from tests.oidc.support import (
    add_client,
    code_for,
    exchange,
    person,
    pkce,
    tokens_for,
)

TOKEN_URL = "http://testserver/oauth/token"


async def keyset(client) -> KeySet:  # noqa: ANN001
    return KeySet.import_key_set((await client.get("/oauth/jwks")).json())


async def refresh(client, c, token: str, **extra):  # noqa: ANN001, ANN003, ANN201
    data = {"grant_type": "refresh_token", "refresh_token": token, **extra}
    return await client.post("/oauth/token", data=data, headers=c.basic())


async def userinfo(client, access_token: str):  # noqa: ANN001, ANN201
    return await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def assert_oauth_error(response, error: str, status: int = 400) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    assert set(body) <= {"error", "error_description"}
    assert body.get("error_description", "").isascii()
    return body


# -- the code exchange and the ID token --------------------------------------------------------
async def test_code_exchange_and_id_token_validation(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, verifier, _ = await code_for(client, c, b.card_number)
    response = await exchange(client, c, code, verifier)
    assert response.status_code == 200, response.text
    assert (
        response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    )
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert set(body["scope"].split()) == {
        "openid",
        "profile",
        "email",
        "phone",
        "cpf",
        "beneficiary",
        "trust",
    }
    keys = await keyset(client)
    id_token = jwt.decode(body["id_token"], keys, algorithms=["RS256"])
    claims = id_token.claims
    assert id_token.header["alg"] == "RS256"
    assert claims["iss"] == "http://testserver" and claims["aud"] == c.id
    assert claims["nonce"] == "nonce-456" and claims["amr"] == ["pwd"] and claims["sid"]
    assert claims["acr"] == "urn:guarita:loa:bronze"
    assert abs(claims["iat"] - time.time()) < 5 and claims["exp"] > claims["iat"]
    assert claims["auth_time"] <= claims["iat"]
    assert claims["sub"] == b.account_id and claims["sub"] != b.cpf
    # RFC 9068 access token.
    at = jwt.decode(body["access_token"], keys, algorithms=["ES256"])
    assert at.header["typ"] == "at+jwt" and at.header["alg"] == "ES256"
    assert at.claims["client_id"] == c.id and at.claims["sub"] == claims["sub"]
    assert at.claims["exp"] - at.claims["iat"] == 300 and at.claims["jti"]


async def test_es256_id_tokens_for_clients_that_ask(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, id_token_alg="ES256")
    body = await tokens_for(client, c, b.card_number)
    assert jwt.decode(body["id_token"], await keyset(client)).header["alg"] == "ES256"


async def test_no_nonce_no_nonce_claim(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    body = await tokens_for(client, c, b.card_number, nonce=None)
    assert "nonce" not in jwt.decode(body["id_token"], await keyset(client)).claims


async def test_code_is_single_use_and_reuse_revokes_what_it_issued(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, verifier, _ = await code_for(client, c, b.card_number)
    first = (await exchange(client, c, code, verifier)).json()
    assert (await userinfo(client, first["access_token"])).status_code == 200
    assert_oauth_error(await exchange(client, c, code, verifier), "invalid_grant")
    # RFC 6749 §4.1.2: what the code issued is revoked.
    assert (await userinfo(client, first["access_token"])).status_code == 401
    assert_oauth_error(await refresh(client, c, first["refresh_token"]), "invalid_grant")


async def test_code_lives_sixty_seconds(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, verifier, _ = await code_for(client, c, b.card_number)
    with time_machine.travel(utcnow() + timedelta(seconds=61)):
        assert_oauth_error(await exchange(client, c, code, verifier), "invalid_grant")
    code, verifier, _ = await code_for(client, c, b.card_number)
    with time_machine.travel(utcnow() + timedelta(seconds=55)):
        assert (await exchange(client, c, code, verifier)).status_code == 200


async def test_code_exchanged_twice_at_once_has_one_winner(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, verifier, _ = await code_for(client, c, b.card_number)
    results = await asyncio.gather(
        exchange(client, c, code, verifier), exchange(client, c, code, verifier)
    )
    assert sorted(r.status_code for r in results) == [200, 400]


async def test_pkce_verifier_must_match(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, verifier, _ = await code_for(client, c, b.card_number)
    assert_oauth_error(await exchange(client, c, code, pkce()[0]), "invalid_grant")
    assert_oauth_error(await exchange(client, c, code, None), "invalid_grant")
    # A wrong verifier does not spend the code: the real client still gets its tokens.
    assert (await exchange(client, c, code, verifier)).status_code == 200


async def test_verifier_for_a_code_issued_without_challenge_is_refused(runtime, client):
    """RFC 9700 §4.8.2 (PKCE downgrade): such codes cannot exist here, but if one did…"""
    b = await person(runtime)
    c = await add_client(runtime)
    code, verifier, _ = await code_for(client, c, b.card_number)
    async with runtime.db.transaction() as s:
        row = (await s.execute(select(OidcAuthorizationCode))).scalar_one()
        row.code_challenge = None
        row.code_challenge_method = None
    assert_oauth_error(await exchange(client, c, code, verifier), "invalid_grant")


async def test_redirect_uri_must_be_the_one_of_the_request(runtime, client):
    b = await person(runtime)
    c = await add_client(
        runtime,
        redirect_uris=["https://portal.example.org/callback", "https://portal.example.org/outro"],
    )
    code, verifier, _ = await code_for(client, c, b.card_number)
    assert_oauth_error(
        await exchange(client, c, code, verifier, redirect_uri="https://portal.example.org/outro"),
        "invalid_grant",
    )


async def test_code_of_another_client_is_refused(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    other = await add_client(runtime, name="Outro")
    code, verifier, _ = await code_for(client, c, b.card_number)
    assert_oauth_error(await exchange(client, other, code, verifier), "invalid_grant")


async def test_unknown_code(runtime, client):
    c = await add_client(runtime)
    assert_oauth_error(await exchange(client, c, "nao-existe", pkce()[0]), "invalid_grant")


# -- refresh tokens ----------------------------------------------------------------------------
async def test_refresh_rotates(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    first = await tokens_for(client, c, b.card_number)
    second = await refresh(client, c, first["refresh_token"])
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert (await userinfo(client, body["access_token"])).status_code == 200
    # OpenID Connect Core §12.2: a new ID token of the same sign-in, without nonce.
    keys = await keyset(client)
    before = jwt.decode(first["id_token"], keys, algorithms=["RS256"]).claims
    after = jwt.decode(body["id_token"], keys, algorithms=["RS256"]).claims
    for claim in ("iss", "sub", "aud", "auth_time", "acr", "sid"):
        assert after[claim] == before[claim], claim
    assert "nonce" not in after and after["iat"] >= before["iat"]
    narrower = await refresh(client, c, body["refresh_token"], scope="openid profile")
    assert narrower.json()["scope"] == "openid profile"
    wider = await refresh(
        client, c, narrower.json()["refresh_token"], scope="openid offline_access"
    )
    assert_oauth_error(wider, "invalid_scope")
    # The refreshed ID token is a valid id_token_hint for RP-Initiated Logout.
    hint = narrower.json()["id_token"]
    logout = await client.get("/oauth/logout", params={"id_token_hint": hint})
    assert logout.status_code == 200, logout.text



async def test_refresh_reuse_revokes_the_family(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    first = await tokens_for(client, c, b.card_number)
    second = (await refresh(client, c, first["refresh_token"])).json()
    assert_oauth_error(await refresh(client, c, first["refresh_token"]), "invalid_grant")
    # The thief's or the owner's newer token dies with the family, and so do access tokens.
    assert_oauth_error(await refresh(client, c, second["refresh_token"]), "invalid_grant")
    assert (await userinfo(client, second["access_token"])).status_code == 401


async def test_refresh_used_twice_at_once_has_exactly_one_winner(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    first = await tokens_for(client, c, b.card_number)
    results = await asyncio.gather(
        refresh(client, c, first["refresh_token"]), refresh(client, c, first["refresh_token"])
    )
    assert sorted(r.status_code for r in results) == [200, 400]
    loser = next(r for r in results if r.status_code == 400)
    assert loser.json()["error"] == "invalid_grant"


async def test_refresh_family_has_an_absolute_lifetime(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number))["refresh_token"]
    for days in (10, 20, 29):
        with time_machine.travel(utcnow() + timedelta(days=days)):
            response = await refresh(client, c, token)
            assert response.status_code == 200, (days, response.text)
            token = response.json()["refresh_token"]
    with time_machine.travel(utcnow() + timedelta(days=31)):
        assert_oauth_error(await refresh(client, c, token), "invalid_grant")


async def test_refresh_token_idle_expiry(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number))["refresh_token"]
    with time_machine.travel(utcnow() + timedelta(days=15)):
        assert_oauth_error(await refresh(client, c, token), "invalid_grant")


async def test_password_change_ends_refresh_families(runtime, client):
    from guarita.storage.accounts import set_password

    b = await person(runtime)
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number))["refresh_token"]
    with time_machine.travel(utcnow() + timedelta(seconds=5)):
        async with runtime.db.transaction() as s:
            await set_password(s, b.account_id, "$argon2id$novo")
        assert_oauth_error(await refresh(client, c, token), "invalid_grant")


async def test_refresh_token_of_another_client(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    other = await add_client(runtime, name="Outro")
    token = (await tokens_for(client, c, b.card_number))["refresh_token"]
    assert_oauth_error(await refresh(client, other, token), "invalid_grant")


# -- client authentication ---------------------------------------------------------------------
async def test_client_secret_post(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, auth_method="client_secret_post")
    code, verifier, _ = await code_for(client, c, b.card_number)
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": c.redirect_uri,
            "code_verifier": verifier,
            "client_id": c.id,
            "client_secret": c.secret,
        },
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("registered", ["client_secret_basic", "client_secret_post"])
@pytest.mark.parametrize("sent", ["client_secret_basic", "client_secret_post"])
async def test_a_client_with_a_secret_may_send_it_either_way(runtime, client, registered, sent):
    """As Keycloak: the libraries choose Basic or the form without asking (docs/oidc.md)."""
    b = await person(runtime)
    c = await add_client(runtime, auth_method=registered)
    code, verifier, _ = await code_for(client, c, b.card_number)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": c.redirect_uri,
            "code_verifier": verifier}
    if sent == "client_secret_post":
        response = await client.post("/oauth/token",
                                     data={**data, "client_id": c.id, "client_secret": c.secret})
    else:
        response = await client.post("/oauth/token", data=data, headers=c.basic())
    assert response.status_code == 200, response.text
    wrong = await client.post("/oauth/token", data={**data, "client_id": c.id,
                                                     "client_secret": c.secret + "x"})
    assert_oauth_error(wrong, "invalid_client", 401)


async def test_registered_method_is_enforced(runtime, client):
    """A secret does not stand in for a key, nor a key for a secret."""
    b = await person(runtime)
    c, key = await jwt_client(runtime)
    code, verifier, _ = await code_for(client, c, b.card_number)
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": c.redirect_uri,
            "code_verifier": verifier,
            "client_id": c.id,
            "client_secret": "um segredo qualquer",
        },
    )
    assert_oauth_error(response, "invalid_client", 401)
    secret_client = await add_client(runtime)
    response = await token_with_assertion(client, secret_client, assertion(key, secret_client.id))
    assert_oauth_error(response, "invalid_client", 401)


async def test_wrong_secret_is_invalid_client_with_basic_challenge(runtime, client):
    c = await add_client(runtime)
    c.secret = "errado"
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        headers=c.basic(),
    )
    assert_oauth_error(response, "invalid_client", 401)
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_basic_credentials_are_form_urlencoded(runtime, client):
    """RFC 6749 §2.3.1: a secret with reserved characters arrives percent-encoded."""
    from urllib.parse import quote_plus

    c = await add_client(
        runtime, grant_types=["client_credentials"], redirect_uris=[], scopes=["api"]
    )
    raw = f"{quote_plus(c.id)}:{quote_plus(c.secret)}".encode()
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    assert response.status_code == 200, response.text


async def test_two_authentication_methods_at_once_are_refused(runtime, client):
    c = await add_client(runtime)
    response = await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_secret": c.secret},
    )
    assert_oauth_error(response, "invalid_request")


async def test_public_client_with_pkce(runtime, client):
    b = await person(runtime)
    c = await add_client(
        runtime, public=True, redirect_uris=["br.gov.exemplo.app:/cb"], application_type="native"
    )
    assert c.secret is None
    body = await tokens_for(client, c, b.card_number)
    assert body["refresh_token"]
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": c.id,
        },
    )
    assert response.status_code == 200, response.text


async def test_public_client_cannot_pretend_to_be_confidential(runtime, client):
    c = await add_client(runtime)
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": c.id},
    )
    assert_oauth_error(response, "invalid_client", 401)


def assertion(
    key,
    client_id: str,
    *,
    alg: str = "RS256",
    aud: str = TOKEN_URL,
    exp_in: int = 60,  # noqa: ANN001
    jti: str | None = None,
    **overrides,
) -> str:  # noqa: ANN003
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + exp_in,
        "jti": jti or secrets.token_urlsafe(12),
        **overrides,
    }
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


async def jwt_client(runtime, alg: str = "RS256"):  # noqa: ANN001, ANN201
    key = RSAKey.generate_key(2048) if alg.startswith(("RS", "PS")) else ECKey.generate_key("P-256")
    key.ensure_kid()
    c = await add_client(
        runtime, auth_method="private_key_jwt", jwks={"keys": [key.as_dict(private=False)]}
    )
    return c, key


async def token_with_assertion(client, c, value: str):  # noqa: ANN001, ANN201
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "nao-existe",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": value,
        },
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256"])
async def test_private_key_jwt(runtime, client, alg):
    b = await person(runtime)
    c, key = await jwt_client(runtime, alg)
    code, verifier, _ = await code_for(client, c, b.card_number)
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": c.redirect_uri,
            "code_verifier": verifier,
            "client_id": c.id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion(key, c.id, alg=alg),
        },
    )
    assert response.status_code == 200, response.text


async def test_private_key_jwt_accepts_ten_minutes_as_pyoidc_sends_once(runtime, client):
    """pyoidc's default assertion lifetime is 600 s; its jti is still single use."""
    c, key = await jwt_client(runtime)
    value = assertion(key, c.id, exp_in=600)
    assert_oauth_error(await token_with_assertion(client, c, value), "invalid_grant")
    replay = await token_with_assertion(client, c, value)
    assert_oauth_error(replay, "invalid_client", 401)


async def test_private_key_jwt_accepts_the_issuer_as_audience(runtime, client):
    c, key = await jwt_client(runtime)
    # Authenticated, so the grant itself is what fails.
    response = await token_with_assertion(client, c, assertion(key, c.id, aud="http://testserver"))
    assert_oauth_error(response, "invalid_grant")


async def test_private_key_jwt_refusals(runtime, client):
    c, key = await jwt_client(runtime)
    other = RSAKey.generate_key(2048)
    other.ensure_kid()
    jti = secrets.token_urlsafe(8)
    assert_oauth_error(
        await token_with_assertion(client, c, assertion(key, c.id, jti=jti)), "invalid_grant"
    )
    cases = {
        "replayed jti": assertion(key, c.id, jti=jti),
        "wrong key": assertion(other, c.id),
        "wrong audience": assertion(key, c.id, aud="https://outro.example/token"),
        "expired": assertion(key, c.id, exp_in=-120),
        "too long": assertion(key, c.id, exp_in=3600),
        "over ten minutes": assertion(key, c.id, exp_in=600 + 31 + 30),
        "other issuer": assertion(key, c.id, iss="alguem"),
        "no jti": jwt.encode(
            {"alg": "RS256", "kid": key.kid},
            {"iss": c.id, "sub": c.id, "aud": TOKEN_URL, "exp": int(time.time()) + 60},
            key,
        ),
    }
    for name, value in cases.items():
        response = await token_with_assertion(client, c, value)
        assert response.status_code == 401, name
        assert response.json()["error"] == "invalid_client", name


async def test_alg_none_and_hmac_assertions_are_refused(runtime, client):
    c, _ = await jwt_client(runtime)
    now = int(time.time())
    claims = {"iss": c.id, "sub": c.id, "aud": TOKEN_URL, "exp": now + 60, "jti": "x1"}

    def b64(data: dict) -> str:
        import json

        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert_oauth_error(await token_with_assertion(client, c, unsigned), "invalid_client", 401)
    secret_key = OctKey.import_key(b"0" * 32)
    hmac_signed = jwt.encode({"alg": "HS256"}, claims, secret_key, algorithms=["HS256"])
    assert_oauth_error(await token_with_assertion(client, c, hmac_signed), "invalid_client", 401)


# -- client_credentials, grant types, request format -------------------------------------------
async def test_client_credentials(runtime, client):
    c = await add_client(
        runtime,
        name="Sistema de benefícios",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["beneficiarios.leitura", "pagamentos"],
    )
    response = await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "client_credentials", "scope": "pagamentos"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "pagamentos" and "refresh_token" not in body and "id_token" not in body
    claims = jwt.decode(body["access_token"], await keyset(client)).claims
    assert claims["sub"] == c.id and claims["client_id"] == c.id
    refused = await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "client_credentials", "scope": "openid profile"},
    )
    assert_oauth_error(refused, "invalid_scope")
    # Userinfo is about a person: a back end's token has nothing to read there.
    assert (await userinfo(client, body["access_token"])).status_code == 403


async def test_grant_type_not_registered_for_the_client(runtime, client):
    c = await add_client(runtime)
    response = await client.post(
        "/oauth/token", headers=c.basic(), data={"grant_type": "client_credentials"}
    )
    assert_oauth_error(response, "unauthorized_client")


@pytest.mark.parametrize(
    "grant_type,error",
    [
        ("password", "unsupported_grant_type"),
        ("implicit", "unsupported_grant_type"),
        ("urn:ietf:params:oauth:grant-type:device_code", "unsupported_grant_type"),
        (None, "invalid_request"),
    ],
)
async def test_unsupported_grant_types(runtime, client, grant_type, error):
    c = await add_client(runtime)
    data = {"grant_type": grant_type} if grant_type else {}
    assert_oauth_error(await client.post("/oauth/token", headers=c.basic(), data=data), error)


async def test_token_requests_must_be_form_encoded_once(runtime, client):
    c = await add_client(runtime)
    as_json = await client.post(
        "/oauth/token", headers=c.basic(), json={"grant_type": "client_credentials"}
    )
    assert_oauth_error(as_json, "invalid_request")
    repeated = await client.post(
        "/oauth/token",
        headers={**c.basic(), "Content-Type": "application/x-www-form-urlencoded"},
        content=b"grant_type=refresh_token&refresh_token=a&refresh_token=b",
    )
    assert_oauth_error(repeated, "invalid_request")


async def test_grant_row_records_how_the_person_signed_in(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await tokens_for(client, c, b.card_number)
    async with runtime.db.transaction() as s:
        grant = (await s.execute(select(OidcGrant))).scalar_one()
    assert grant.amr == ["pwd"] and grant.acr == "urn:guarita:loa:bronze" and grant.sid
