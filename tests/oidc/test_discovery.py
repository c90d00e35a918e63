"""Discovery (OpenID Connect Discovery 1.0 §3–4, RFC 8414) and the JWKS with rotation."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from joserfc import jwt
from joserfc.jwk import KeySet

from guarita.oidc import keys
from guarita.storage.types import utcnow
from tests.oidc.support import add_client, person, tokens_for


async def test_discovery_document(client):
    response = await client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    doc = response.json()
    assert doc["issuer"] == "http://testserver"
    for name, path in {
        "authorization_endpoint": "/oauth/authorize",
        "token_endpoint": "/oauth/token",
        "userinfo_endpoint": "/oauth/userinfo",
        "jwks_uri": "/oauth/jwks",
        "end_session_endpoint": "/oauth/logout",
        "revocation_endpoint": "/oauth/revoke",
        "introspection_endpoint": "/oauth/introspect",
    }.items():
        assert doc[name] == "http://testserver" + path
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "none" not in doc["id_token_signing_alg_values_supported"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["acr_values_supported"] == [
        "urn:guarita:loa:bronze",
        "urn:guarita:loa:prata",
        "urn:guarita:loa:ouro",
        "urn:guarita:mfa",
    ]
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"} == set(
        doc["token_endpoint_auth_methods_supported"]
    )
    assert {"cpf", "card_number", "trust_level", "email_verified"} <= set(doc["claims_supported"])
    assert response.headers["cache-control"].startswith("public, max-age=")
    # RFC 8414 §3: the OAuth location serves the same metadata.
    same = await client.get("/.well-known/oauth-authorization-server")
    assert same.content == response.content


async def test_discovery_etag_gives_304(client):
    first = await client.get("/.well-known/openid-configuration")
    again = await client.get(
        "/.well-known/openid-configuration", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


async def test_jwks_publishes_public_keys_only(client):
    response = await client.get("/oauth/jwks")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    assert "max-age=" in response.headers["cache-control"] and response.headers["etag"]
    found = response.json()["keys"]
    assert {k["alg"] for k in found} == {"RS256", "ES256"}
    for key in found:
        assert key["use"] == "sig" and key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    again = await client.get("/oauth/jwks", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_private_keys_are_stored_encrypted(runtime, client):
    await client.get("/oauth/jwks")
    from sqlalchemy import select

    from guarita.storage.oidc_tables import OidcSigningKey

    async with runtime.db.transaction() as session:
        rows = (await session.execute(select(OidcSigningKey))).scalars().all()
    assert rows
    for row in rows:
        assert b'"d"' not in row.private_jwk_encrypted and row.private_jwk_encrypted[:2] == b"v1"
        assert "d" not in row.public_jwk


async def test_rotation_publishes_first_signs_later_and_retires_old_keys(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    before = (await client.get("/oauth/jwks")).json()["keys"]
    old_rs = next(k["kid"] for k in before if k["alg"] == "RS256")
    changes = await keys.rotate(runtime)
    new_rs = next(c["kid"] for c in changes if c.get("alg") == "RS256")
    store = await keys.keystore(runtime, refresh=True)
    runtime.extras.pop("oidc.keystore")  # the server process would reload within a minute
    published = {k["kid"] for k in (await client.get("/oauth/jwks")).json()["keys"]}
    assert {old_rs, new_rs} <= published  # announced before use
    tokens = await tokens_for(client, c, b.card_number)
    assert (
        jwt.decode(tokens["id_token"], KeySet.import_key_set({"keys": before})).header["kid"]
        == old_rs
    )
    assert store.signing("RS256").kid == old_rs
    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        runtime.extras.pop("oidc.keystore")
        client.cookies.clear()
        tokens = await tokens_for(client, c, b.card_number)
        header = jwt.decode(
            tokens["id_token"], KeySet.import_key_set((await client.get("/oauth/jwks")).json())
        ).header
        assert header["kid"] == new_rs
        assert old_rs in {k["kid"] for k in (await client.get("/oauth/jwks")).json()["keys"]}
    with time_machine.travel(utcnow() + timedelta(minutes=6, hours=1, seconds=40)):
        runtime.extras.pop("oidc.keystore")
        published = {k["kid"] for k in (await client.get("/oauth/jwks")).json()["keys"]}
        assert old_rs not in published and new_rs in published
        await keys.rotate(runtime)  # a later rotation deletes what nobody can still need
        assert old_rs not in {k["kid"] for k in await keys.describe(runtime)}


async def test_fast_path_serves_the_same_bytes_and_passes_the_rest(app, client):
    import httpx

    from guarita.oidc.endpoints import fast_path

    transport = httpx.ASGITransport(app=fast_path(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fast:
        for path in ("/.well-known/openid-configuration", "/oauth/jwks"):
            direct, quick = await client.get(path), await fast.get(path)
            assert quick.status_code == 200 and quick.content == direct.content
            assert quick.headers["etag"] == direct.headers["etag"]
            assert quick.headers["x-content-type-options"] == "nosniff"
        assert (await fast.get("/healthz")).status_code == direct.status_code == 200
        assert (await fast.post("/oauth/jwks")).status_code == 405


async def test_fast_path_wraps_once(app):
    """``serve_app`` wraps the application; wrapping it again (as a benchmark factory once did)
    must not hide the FastAPI application from the endpoints, which answered 500 on JWKS."""
    import httpx

    from guarita.oidc.endpoints import fast_path

    once = fast_path(app)
    assert fast_path(once) is once
    transport = httpx.ASGITransport(app=fast_path(once))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fast:
        for path in ("/.well-known/openid-configuration", "/oauth/jwks"):
            assert (await fast.get(path)).status_code == 200
