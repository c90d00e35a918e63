"""The authorization endpoint, after the OpenID Foundation's basic OP test plan: PKCE, redirect
URIs, state, iss, prompt, max_age, login_hint, ui_locales, acr_values, unknown parameters and
open redirects (OpenID Connect Core 1.0 §3.1.2; RFC 6749 §4.1; RFC 7636; RFC 9207; RFC 9700)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from guarita.storage.tables import Account
from guarita.storage.types import utcnow
from tests.oidc.support import (
    add_client,
    authorize,
    authorize_params,
    code_for,
    exchange,
    follow_login,
    person,
    pkce,
    query_of,
    sign_in,
)


async def id_token_claims(client, token: str) -> dict:  # noqa: ANN001
    keys = KeySet.import_key_set((await client.get("/oauth/jwks")).json())
    return jwt.decode(token, keys, algorithms=["RS256", "ES256"]).claims


def assert_error_redirect(response, c, error: str, state: str | None = "estado-123") -> dict:  # noqa: ANN001
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(c.redirect_uri + "?"), location
    query = query_of(location)
    assert query["error"] == error, query
    assert query["iss"] == "http://testserver"
    if state:
        assert query["state"] == state
    return query


# -- PKCE (RFC 7636; SECURITY.md) --------------------------------------------------------------
async def test_missing_code_challenge_is_refused(runtime, client):
    c = await add_client(runtime)
    response = await authorize(client, c, None, code_challenge_method=None)
    assert_error_redirect(response, c, "invalid_request")


async def test_plain_code_challenge_is_refused(runtime, client):
    c = await add_client(runtime)
    verifier, _ = pkce()
    response = await authorize(client, c, verifier, code_challenge_method="plain")
    assert_error_redirect(response, c, "invalid_request")


async def test_challenge_without_method_means_plain_and_is_refused(runtime, client):
    c = await add_client(runtime)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, code_challenge_method=None)
    assert_error_redirect(response, c, "invalid_request")


# -- redirect URIs (RFC 9700 §4.1.3, RFC 8252 §7.3) ---------------------------------------------
@pytest.mark.parametrize(
    "uri",
    [
        "https://portal.example.org/callback/",
        "https://portal.example.org/callback?x=1",
        "https://portal.example.org/Callback",
        "https://evil.example/callback",
        "https://portal.example.org.evil.example/callback",
        "http://portal.example.org/callback",
    ],
)
async def test_redirect_uri_must_match_exactly_and_errors_never_go_there(runtime, client, uri):
    c = await add_client(runtime)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, redirect_uri=uri)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]
    assert "Volte ao aplicativo" in response.text


async def test_unknown_client_gets_a_page_not_a_redirect(runtime, client):
    c = await add_client(runtime)
    _, challenge = pkce()
    params = authorize_params(c, challenge, client_id="nao-existe")
    response = await client.get("/oauth/authorize", params=params)
    assert response.status_code == 400 and "location" not in response.headers


async def test_errors_before_redirect_uri_is_validated_never_redirect(runtime, client):
    """Even a bad response_type goes to a page when the redirect URI is not the client's."""
    c = await add_client(runtime)
    response = await client.get(
        "/oauth/authorize",
        params={
            "client_id": c.id,
            "redirect_uri": "https://evil.example/cb",
            "response_type": "token",
        },
    )
    assert response.status_code == 400 and "location" not in response.headers


async def test_loopback_redirect_matches_any_port(runtime, client):
    b = await person(runtime)
    c = await add_client(
        runtime, public=True, application_type="native", redirect_uris=["http://127.0.0.1/callback"]
    )
    c.redirect_uri = "http://127.0.0.1:53117/callback"
    code, verifier, _ = await code_for(client, c, b.card_number)
    token = await exchange(client, c, code, verifier)
    assert token.status_code == 200, token.text
    c.redirect_uri = "http://127.0.0.1:53117/outro"
    _, challenge = pkce()
    assert (await authorize(client, c, challenge)).status_code == 400


async def test_redirect_uri_is_required(runtime, client):
    c = await add_client(runtime)
    _, challenge = pkce()
    response = await client.get(
        "/oauth/authorize", params=authorize_params(c, challenge, redirect_uri=None)
    )
    assert response.status_code == 400 and "location" not in response.headers


async def test_repeated_parameters_are_refused(runtime, client):
    c = await add_client(runtime)
    _, challenge = pkce()
    params = list(authorize_params(c, challenge).items()) + [("scope", "openid")]
    response = await client.get("/oauth/authorize", params=params)
    assert_error_redirect(response, c, "invalid_request")
    params = list(authorize_params(c, challenge).items()) + [
        ("redirect_uri", "https://evil.example/")
    ]
    response = await client.get("/oauth/authorize", params=params)
    assert response.status_code == 400 and "location" not in response.headers


# -- response: state, iss, code ----------------------------------------------------------------
async def test_code_response_carries_state_and_iss(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, _, query = await code_for(client, c, b.card_number)
    assert query["state"] == "estado-123" and query["iss"] == "http://testserver"
    assert len(code) >= 43


async def test_registered_query_is_kept(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, redirect_uris=["https://portal.example.org/cb?app=1"])
    code, _, query = await code_for(client, c, b.card_number)
    assert query["app"] == "1" and query["code"] == code


async def test_unknown_parameters_are_ignored(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, _, _ = await code_for(
        client, c, b.card_number, foo="bar", claims_locales="xx", resource="https://x.example"
    )
    assert code


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token"])
async def test_only_the_code_flow(runtime, client, response_type):
    c = await add_client(runtime)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, response_type=response_type)
    assert_error_redirect(response, c, "unsupported_response_type")


async def test_openid_scope_is_required(runtime, client):
    c = await add_client(runtime)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, scope="profile")
    assert_error_redirect(response, c, "invalid_scope")


@pytest.mark.parametrize(
    "name,error",
    [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
        ("registration", "registration_not_supported"),
    ],
)
async def test_request_objects_are_not_supported(runtime, client, name, error):
    c = await add_client(runtime)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, **{name: "x.y.z"})
    assert_error_redirect(response, c, error)


async def test_post_to_the_authorization_endpoint(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    _, challenge = pkce()
    response = await client.post("/oauth/authorize", data=authorize_params(c, challenge))
    assert response.status_code == 303 and "code=" in response.headers["location"]


async def test_scopes_the_client_may_not_have_are_dropped(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, scopes=["openid", "profile"])
    code, verifier, _ = await code_for(client, c, b.card_number, scope="openid profile cpf nada")
    body = (await exchange(client, c, code, verifier)).json()
    assert body["scope"] == "openid profile"


# -- sign-in, single sign-on, prompt, max_age --------------------------------------------------
async def test_sign_in_then_single_sign_on(runtime, client):
    b = await person(runtime)
    portal = await add_client(runtime)
    app = await add_client(
        runtime,
        name="Aplicativo",
        public=True,
        redirect_uris=["br.gov.exemplo.app:/callback"],
        application_type="native",
    )
    _, challenge = pkce()
    first = await authorize(client, portal, challenge)
    assert first.headers["location"].startswith("/entrar?")
    await follow_login(client, first, b.card_number)
    # The app, in the same browser, gets a code without a second sign-in.
    response = await authorize(client, app, challenge)
    assert response.status_code == 303 and response.headers["location"].startswith(
        "br.gov.exemplo.app:/callback?code="
    )


async def test_login_page_link_is_relative_and_carries_hint_and_language(runtime, client):
    c = await add_client(runtime)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, login_hint="100200300", ui_locales="es-AR en")
    location = response.headers["location"]
    query = query_of(location)
    assert query["next"].startswith("/oauth/authorize/resume?interaction=")
    assert query["identifier"] == "100200300" and query["lang"] == "es"
    page = await client.get(location)
    assert page.status_code == 200 and 'value="100200300"' in page.text


async def test_login_page_names_the_application_that_sent_the_person(runtime, client):
    """"Para continuar no Portal do Beneficiário": read from this browser's parked request, so
    a crafted link, or a link of another browser, names nothing."""
    c = await add_client(runtime, name="Portal do Beneficiário")
    _, challenge = pkce()
    location = (await authorize(client, c, challenge)).headers["location"]
    page = await client.get(location + "&lang=pt-BR")
    assert "Para continuar no Portal do Beneficiário" in page.text
    assert runtime.settings.organisation_name in page.text
    english = await client.get(location + "&lang=en")
    assert "To continue to Portal do Beneficiário" in english.text
    client.cookies.clear()  # another browser, same link
    assert "Para continuar no" not in (await client.get(location + "&lang=pt-BR")).text
    plain = await client.get("/entrar?lang=pt-BR")
    assert "Para continuar no" not in plain.text


async def test_prompt_none_without_session_is_login_required(runtime, client):
    c = await add_client(runtime)
    _, challenge = pkce()
    assert_error_redirect(await authorize(client, c, challenge, prompt="none"), c, "login_required")


async def test_prompt_none_with_session_issues_a_code(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, prompt="none")
    assert "code=" in response.headers["location"]


async def test_prompt_none_cannot_be_combined(runtime, client):
    c = await add_client(runtime)
    _, challenge = pkce()
    assert_error_redirect(
        await authorize(client, c, challenge, prompt="none login"), c, "invalid_request"
    )


async def test_prompt_login_forces_a_new_sign_in(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, verifier, _ = await code_for(client, c, b.card_number)
    first = await id_token_claims(
        client, (await exchange(client, c, code, verifier)).json()["id_token"]
    )
    with time_machine.travel(utcnow() + timedelta(seconds=5)):
        verifier, challenge = pkce()
        response = await authorize(client, c, challenge, prompt="login")
        assert response.headers["location"].startswith("/entrar?")
        # Coming back without signing in again does not satisfy prompt=login.
        resume = query_of(response.headers["location"])["next"]
        again = await client.get(resume)
        assert again.headers["location"].startswith("/entrar?")
        done = await follow_login(client, response, b.card_number)
        query = query_of(done.headers["location"])
        second = await id_token_claims(
            client, (await exchange(client, c, query["code"], verifier)).json()["id_token"]
        )
    assert second["auth_time"] >= first["auth_time"] + 5


async def test_max_age_reauthenticates_old_sessions_and_reports_auth_time(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, verifier, _ = await code_for(client, c, b.card_number)
    first = await id_token_claims(
        client, (await exchange(client, c, code, verifier)).json()["id_token"]
    )
    with time_machine.travel(utcnow() + timedelta(seconds=120)):
        # Within max_age: single sign-on, auth_time is the original sign-in.
        code, verifier, _ = await code_for(client, c, b.card_number, max_age="600")
        claims = await id_token_claims(
            client, (await exchange(client, c, code, verifier)).json()["id_token"]
        )
        assert claims["auth_time"] == first["auth_time"]
        # Older than max_age: a new sign-in.
        verifier, challenge = pkce()
        response = await authorize(client, c, challenge, max_age="60")
        assert response.headers["location"].startswith("/entrar?")
        done = await follow_login(client, response, b.card_number)
        code = query_of(done.headers["location"])["code"]
        claims = await id_token_claims(
            client, (await exchange(client, c, code, verifier)).json()["id_token"]
        )
        assert claims["auth_time"] > first["auth_time"] + 100


async def test_max_age_zero_behaves_like_prompt_login(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, max_age="0")
    assert response.headers["location"].startswith("/entrar?")
    done = await follow_login(client, response, b.card_number)
    assert "code=" in done.headers["location"]


async def test_prompt_none_and_old_session_is_login_required(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    with time_machine.travel(utcnow() + timedelta(seconds=120)):
        _, challenge = pkce()
        response = await authorize(client, c, challenge, prompt="none", max_age="60")
        assert_error_redirect(response, c, "login_required")


@pytest.mark.parametrize("value", ["-1", "abc", "1.5"])
async def test_bad_max_age(runtime, client, value):
    c = await add_client(runtime)
    _, challenge = pkce()
    assert_error_redirect(
        await authorize(client, c, challenge, max_age=value), c, "invalid_request"
    )


async def test_id_token_hint_of_another_person_asks_for_sign_in(runtime, client):
    maria = await person(runtime)
    jose = await person(
        runtime,
        card="700800900",
        seed=7,
        email="jose@example.com",
        phone=None,
        name="José da Silva",
    )
    c = await add_client(runtime)
    code, verifier, _ = await code_for(client, c, maria.card_number)
    maria_token = (await exchange(client, c, code, verifier)).json()["id_token"]
    client.cookies.clear()
    await sign_in(client, jose.card_number)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, id_token_hint=maria_token)
    assert response.headers["location"].startswith("/entrar?")
    response = await authorize(client, c, challenge, id_token_hint=maria_token, prompt="none")
    assert_error_redirect(response, c, "login_required")
    bad = await authorize(client, c, challenge, id_token_hint=maria_token[:-4] + "AAAA")
    assert_error_redirect(bad, c, "invalid_request")


# -- acr_values: trust levels ------------------------------------------------------------------
async def test_acr_values_met(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    code, verifier, _ = await code_for(
        client, c, b.card_number, acr_values="urn:guarita:loa:bronze"
    )
    claims = await id_token_claims(
        client, (await exchange(client, c, code, verifier)).json()["id_token"]
    )
    assert claims["acr"] == "urn:guarita:loa:bronze" and claims["amr"] == ["pwd"]


async def test_acr_values_above_the_account_level_leads_to_the_step_up(runtime, client):
    """The branches of the step-up are in tests/oidc/test_step_up.py."""
    b = await person(runtime)
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, acr_values="urn:guarita:loa:prata")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/confirmar-identidade?pedido=")


async def test_higher_level_satisfies_lower_request(runtime, client):
    b = await person(runtime)
    async with runtime.db.transaction() as s:
        await s.execute(update(Account).values(trust_level="ouro"))
    c = await add_client(runtime)
    code, verifier, _ = await code_for(
        client, c, b.card_number, acr_values="urn:guarita:loa:prata urn:desconhecido"
    )
    claims = await id_token_claims(
        client, (await exchange(client, c, code, verifier)).json()["id_token"]
    )
    assert claims["acr"] == "urn:guarita:loa:ouro"


# -- interactions ------------------------------------------------------------------------------
async def test_interaction_is_bound_to_the_browser_and_used_once(runtime, app, client):
    import httpx

    b = await person(runtime)
    c = await add_client(runtime)
    _, challenge = pkce()
    response = await authorize(client, c, challenge)
    resume = query_of(response.headers["location"])["next"]
    # Someone else's browser, even signed in, cannot use the link.
    transport = httpx.ASGITransport(app=app, client=("192.0.2.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(other, b.card_number)
        stolen = await other.get(resume)
        assert stolen.status_code == 400 and "expirou" in stolen.text
    done = await follow_login(client, response, b.card_number)
    assert "code=" in done.headers["location"]
    again = await client.get(resume)
    assert again.status_code == 400


async def test_interaction_expires(runtime, client):
    c = await add_client(runtime)
    _, challenge = pkce()
    response = await authorize(client, c, challenge)
    resume = query_of(response.headers["location"])["next"]
    with time_machine.travel(utcnow() + timedelta(minutes=31)):
        assert (await client.get(resume)).status_code == 400


async def test_open_redirect_impossible_through_next(runtime, client):
    """The way back from the sign-in page is always a path on this site."""
    c = await add_client(runtime)
    _, challenge = pkce()
    location = (await authorize(client, c, challenge)).headers["location"]
    assert urlsplit(location).netloc == "" and urlsplit(query_of(location)["next"]).netloc == ""
