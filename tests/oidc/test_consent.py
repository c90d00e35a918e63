"""Consent for third-party clients (OpenID Connect Core 1.0 §3.1.2.4), remembered and revocable
on /conta/aplicativos; first-party clients never ask."""

from __future__ import annotations

from tests.oidc.support import (
    add_client,
    authorize,
    csrf_of,
    exchange,
    follow_login,
    person,
    pkce,
    query_of,
    sign_in,
)


async def consent_page(client, c, identifier: str, **extra):  # noqa: ANN001, ANN003, ANN201
    verifier, challenge = pkce()
    response = await authorize(client, c, challenge, **extra)
    if response.headers.get("location", "").startswith("/entrar"):
        response = await follow_login(client, response, identifier)
    elif response.status_code == 303 and response.headers["location"].startswith(
        "/oauth/authorize/resume"
    ):
        response = await client.get(response.headers["location"])
    return response, verifier


def interaction_of(html: str) -> str:
    import re

    return re.search(r'name="interaction" value="([^"]+)"', html).group(1)


async def answer(client, page, decision: str):  # noqa: ANN001, ANN201
    return await client.post(
        "/oauth/authorize/consent",
        data={
            "csrf_token": csrf_of(page.text),
            "interaction": interaction_of(page.text),
            "decision": decision,
        },
    )


async def test_third_party_asks_once_and_remembers(runtime, client):
    b = await person(runtime)
    c = await add_client(
        runtime,
        name="Farmácia Popular Online",
        third_party=True,
        scopes=["openid", "profile", "beneficiary"],
    )
    page, verifier = await consent_page(
        client, c, b.card_number, scope="openid profile beneficiary"
    )
    assert page.status_code == 200, page.text
    assert "Farmácia Popular Online quer usar sua conta" in page.text
    assert (
        "O número da sua carteirinha" in page.text
        and "Seu nome e sua data de nascimento" in page.text
    )
    allowed = await answer(client, page, "allow")
    assert allowed.status_code == 303
    code = query_of(allowed.headers["location"])["code"]
    assert (await exchange(client, c, code, verifier)).status_code == 200
    # Next time: no question for the same scopes…
    _, challenge = pkce()
    again = await authorize(client, c, challenge, scope="openid profile")
    assert "code=" in again.headers["location"]
    # …and prompt=none works.
    again = await authorize(client, c, challenge, scope="openid profile", prompt="none")
    assert "code=" in again.headers["location"]


async def test_more_scopes_ask_again_and_prompt_consent_always_asks(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, third_party=True, scopes=["openid", "profile", "cpf"])
    page, _ = await consent_page(client, c, b.card_number, scope="openid profile")
    await answer(client, page, "allow")
    page, _ = await consent_page(client, c, b.card_number, scope="openid profile cpf")
    assert page.status_code == 200 and "Seu CPF" in page.text
    page, _ = await consent_page(client, c, b.card_number, scope="openid profile", prompt="consent")
    assert page.status_code == 200 and "quer usar sua conta" in page.text


async def test_deny_is_access_denied(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, third_party=True)
    page, _ = await consent_page(client, c, b.card_number)
    denied = await answer(client, page, "deny")
    query = query_of(denied.headers["location"])
    assert query["error"] == "access_denied" and query["state"] == "estado-123"
    assert query["iss"] == "http://testserver"


async def test_prompt_none_without_consent_is_consent_required(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, third_party=True)
    await sign_in(client, b.card_number)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, prompt="none")
    assert query_of(response.headers["location"])["error"] == "consent_required"


async def test_first_party_never_asks(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    _, challenge = pkce()
    assert "code=" in (await authorize(client, c, challenge)).headers["location"]


async def test_consent_form_needs_csrf(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, third_party=True)
    page, _ = await consent_page(client, c, b.card_number)
    forged = await client.post(
        "/oauth/authorize/consent",
        data={"interaction": interaction_of(page.text), "decision": "allow"},
    )
    assert forged.status_code == 403 and "location" not in forged.headers


async def test_connected_apps_lists_and_revokes(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, name="Farmácia Popular Online", third_party=True)
    page, verifier = await consent_page(client, c, b.card_number)
    allowed = await answer(client, page, "allow")
    tokens = (
        await exchange(client, c, query_of(allowed.headers["location"])["code"], verifier)
    ).json()
    listing = await client.get("/conta/aplicativos")
    assert listing.status_code == 200 and "Farmácia Popular Online" in listing.text
    assert "Aplicativo de outra empresa" in listing.text
    response = await client.post(
        "/conta/aplicativos/desconectar",
        data={"csrf_token": csrf_of(listing.text), "client_id": c.id},
    )
    assert (
        response.status_code == 303
        and response.headers["location"] == "/conta/aplicativos?desconectado=1"
    )
    listing = await client.get(response.headers["location"])
    assert (
        "Farmácia Popular Online" not in listing.text and "Aplicativo desconectado" in listing.text
    )
    refreshed = await client.post(
        "/oauth/token",
        headers=c.basic(),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.json()["error"] == "invalid_grant"
    # The question comes back.
    page, _ = await consent_page(client, c, b.card_number)
    assert page.status_code == 200 and "quer usar sua conta" in page.text


async def test_first_party_apps_with_live_tokens_are_listed_too(runtime, client):
    from tests.oidc.support import tokens_for

    b = await person(runtime)
    c = await add_client(runtime, name="Aplicativo do Instituto")
    await tokens_for(client, c, b.card_number)
    listing = await client.get("/conta/aplicativos")
    assert (
        "Aplicativo do Instituto" in listing.text
        and "Aplicativo de outra empresa" not in listing.text
    )


async def test_connected_apps_needs_sign_in(client):
    response = await client.get("/conta/aplicativos")
    assert response.status_code == 303 and response.headers["location"].startswith("/entrar")
