"""RP-Initiated Logout 1.0: id_token_hint, post_logout_redirect_uri registered exactly, state,
the confirmation page, and the Guarita session ended."""

from __future__ import annotations

from tests.oidc.support import add_client, csrf_of, person, query_of, tokens_for

LOGOUT_URI = "https://portal.example.org/saiu"


async def signed_in_account_page(client) -> int:  # noqa: ANN001
    return (await client.get("/conta")).status_code


async def test_logout_with_hint_redirects_with_state_and_ends_the_session(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    assert await signed_in_account_page(client) == 200
    response = await client.get(
        "/oauth/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": LOGOUT_URI,
            "state": "s-1",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == LOGOUT_URI + "?state=s-1"
    assert (await client.get("/conta")).status_code == 303  # back to /entrar: signed out
    # The grant made under that session ends with it (no offline_access).
    refreshed = await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.json()["error"] == "invalid_grant"


async def test_offline_access_survives_logout(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, scopes=["openid", "profile", "offline_access"])
    tokens = await tokens_for(client, c, b.card_number, scope="openid offline_access")
    await client.get("/oauth/logout", params={"id_token_hint": tokens["id_token"]})
    refreshed = await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200


async def test_unregistered_post_logout_redirect_uri_is_never_followed(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    for uri in ("https://evil.example/", LOGOUT_URI + "/", LOGOUT_URI + "?x=1"):
        response = await client.get(
            "/oauth/logout",
            params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": uri},
        )
        assert response.status_code == 400 and "location" not in response.headers
    # Without any way to know the client, a redirect is never made either.
    response = await client.get("/oauth/logout", params={"post_logout_redirect_uri": LOGOUT_URI})
    assert response.status_code == 400
    assert await signed_in_account_page(client) == 200  # nothing ended


async def test_without_hint_the_person_confirms(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await tokens_for(client, c, b.card_number)
    page = await client.get(
        "/oauth/logout",
        params={"client_id": c.id, "post_logout_redirect_uri": LOGOUT_URI, "state": "s-2"},
    )
    assert page.status_code == 200 and "Quer sair da sua conta?" in page.text
    assert await signed_in_account_page(client) == 200
    response = await client.post(
        "/oauth/logout/confirm",
        data={
            "csrf_token": csrf_of(page.text),
            "decision": "logout",
            "client_id": c.id,
            "post_logout_redirect_uri": LOGOUT_URI,
            "state": "s-2",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == LOGOUT_URI + "?state=s-2"
    assert (await client.get("/conta")).status_code == 303


async def test_confirmation_can_be_declined_and_needs_csrf(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await tokens_for(client, c, b.card_number)
    page = await client.get("/oauth/logout")
    forged = await client.post("/oauth/logout/confirm", data={"decision": "logout"})
    assert forged.status_code == 403
    stay = await client.post(
        "/oauth/logout/confirm", data={"csrf_token": csrf_of(page.text), "decision": "stay"}
    )
    assert stay.headers["location"] == "/conta"
    assert await signed_in_account_page(client) == 200


async def test_hint_of_someone_else_asks_for_confirmation(runtime, client):
    maria = await person(runtime)
    jose = await person(runtime, card="700800900", seed=7, email="jose@example.com", phone=None)
    c = await add_client(runtime)
    maria_tokens = await tokens_for(client, c, maria.card_number)
    client.cookies.clear()
    await tokens_for(client, c, jose.card_number)
    page = await client.get("/oauth/logout", params={"id_token_hint": maria_tokens["id_token"]})
    assert page.status_code == 200 and "Quer sair" in page.text


async def test_logout_without_session_just_goes_back(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    client.cookies.clear()
    response = await client.get(
        "/oauth/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": LOGOUT_URI,
            "state": "z",
        },
    )
    assert response.status_code == 303 and query_of(response.headers["location"]) == {"state": "z"}


async def test_logout_by_post_and_plain_page_without_redirect(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    response = await client.post("/oauth/logout", data={"id_token_hint": tokens["id_token"]})
    assert response.status_code == 200 and "Você saiu" in response.text


async def test_forged_hint_is_refused(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    response = await client.get(
        "/oauth/logout",
        params={
            "id_token_hint": tokens["id_token"][:-5] + "AAAAA",
            "post_logout_redirect_uri": LOGOUT_URI,
        },
    )
    assert response.status_code == 400 and "location" not in response.headers
