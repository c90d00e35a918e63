"""Introspection (RFC 7662) and revocation (RFC 7009)."""

from __future__ import annotations

from sqlalchemy import update

from guarita.storage.oidc_tables import OidcClient
from tests.oidc.support import add_client, person, tokens_for


async def introspect(client, caller, token: str, **extra):  # noqa: ANN001, ANN003, ANN201
    return await client.post(
        "/oauth/introspect", data={"token": token, **extra}, headers=caller.basic()
    )


async def revoke(client, caller, token: str, **extra):  # noqa: ANN001, ANN003, ANN201
    return await client.post(
        "/oauth/revoke", data={"token": token, **extra}, headers=caller.basic()
    )


async def test_introspect_access_and_refresh_tokens(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    at = (await introspect(client, c, tokens["access_token"])).json()
    assert at["active"] is True and at["client_id"] == c.id and at["sub"] == b.account_id
    assert (
        at["token_type"] == "Bearer" and "openid" in at["scope"].split() and at["exp"] > at["iat"]
    )
    assert at["iss"] == "http://testserver" and at["acr"] == "urn:guarita:loa:bronze"
    rt = (
        await introspect(client, c, tokens["refresh_token"], token_type_hint="refresh_token")
    ).json()
    assert (
        rt["active"] is True and rt["token_type"] == "refresh_token" and rt["sub"] == b.account_id
    )


async def test_introspection_answers_inactive_without_details(runtime, client):
    c = await add_client(runtime)
    for token in ("nada", "a.b.c", ""):
        response = await introspect(client, c, token)
        assert response.status_code == 200 and response.json() == {"active": False}


async def test_introspection_needs_client_authentication(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    response = await client.post("/oauth/introspect", data={"token": tokens["access_token"]})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    public = await add_client(
        runtime,
        name="App",
        public=True,
        redirect_uris=["br.gov.app:/cb"],
        application_type="native",
    )
    response = await client.post(
        "/oauth/introspect", data={"token": tokens["access_token"], "client_id": public.id}
    )
    assert response.status_code == 401


async def test_third_party_sees_only_its_own_tokens(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    other = await add_client(runtime, name="Terceiro", third_party=True)
    tokens = await tokens_for(client, c, b.card_number)
    assert (await introspect(client, other, tokens["access_token"])).json() == {"active": False}
    first_party = await add_client(runtime, name="API de benefícios")
    assert (await introspect(client, first_party, tokens["access_token"])).json()["active"] is True


async def test_revoking_the_refresh_token_revokes_the_grant(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    response = await revoke(client, c, tokens["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200 and response.content == b""
    assert (await introspect(client, c, tokens["refresh_token"])).json() == {"active": False}
    assert (await introspect(client, c, tokens["access_token"])).json() == {"active": False}
    refreshed = await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.json()["error"] == "invalid_grant"
    info = await client.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 401


async def test_revoking_an_access_token_alone(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    assert (
        await revoke(client, c, tokens["access_token"], token_type_hint="access_token")
    ).status_code == 200
    info = await client.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 401
    # The refresh token still works and brings a new, valid access token.
    refreshed = await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200
    info = await client.get(
        "/oauth/userinfo", headers={"Authorization": "Bearer " + refreshed.json()["access_token"]}
    )
    assert info.status_code == 200


async def test_revocation_of_unknown_tokens_is_a_quiet_success(runtime, client):
    c = await add_client(runtime)
    for token in ("nao-existe", "a.b.c"):
        assert (await revoke(client, c, token)).status_code == 200


async def test_another_clients_token_is_answered_like_an_unknown_one(runtime, client):
    """RFC 7009 §2.1–2.2: the same 200 as an unknown token, and the token stays live."""
    b = await person(runtime)
    c = await add_client(runtime)
    other = await add_client(runtime, name="Outro")
    tokens = await tokens_for(client, c, b.card_number)
    unknown = await revoke(client, other, "nao-existe")
    for token in (tokens["refresh_token"], tokens["access_token"]):
        response = await revoke(client, other, token)
        assert (response.status_code, response.content) == (unknown.status_code, unknown.content)
        assert (await introspect(client, c, token)).json()["active"] is True


async def test_public_client_revokes_its_own_token(runtime, client):
    b = await person(runtime)
    c = await add_client(
        runtime, public=True, redirect_uris=["br.gov.app:/cb"], application_type="native"
    )
    tokens = await tokens_for(client, c, b.card_number)
    response = await client.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": c.id}
    )
    assert response.status_code == 200


async def test_disabled_client_is_refused(runtime, client):
    from guarita.oidc import clients
    from guarita.storage.types import utcnow

    c = await add_client(runtime)
    async with runtime.db.transaction() as s:
        await s.execute(update(OidcClient).values(disabled_at=utcnow()))
    clients.forget(runtime)
    response = await introspect(client, c, "x")
    assert response.status_code == 401
