"""The gov.br profile (docs/govbr-profile.md): gov.br's issuer, paths, claims and token shape
under /govbr/, for clients registered with ``profile="govbr"`` only."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from guarita.domain.evidence import EvidenceKind
from guarita.oidc import clients as clients_repo
from guarita.oidc.clients import ClientRegistrationError, ClientSpec
from guarita.oidc.govbr import amr_of, required_level, updated_at
from guarita.services import step_up
from guarita.storage.tables import Account, IdentityEvidence
from guarita.storage.types import utcnow
from tests.oidc.support import (
    add_client,
    exchange,
    follow_login,
    person,
    pkce,
    query_of,
    tokens_for,
)

BASE = "http://testserver"
ISSUER = BASE + "/govbr/"
GOVBR_SCOPE = "openid email phone profile govbr_confiabilidades govbr_confiabilidades_idtoken"


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def govbr_client(runtime, **kw):  # noqa: ANN001, ANN003, ANN201
    kw.setdefault("post_logout_redirect_uris", ["https://portal.example.org/saiu"])
    return await add_client(runtime, profile="govbr", **kw)


async def govbr_code(http, client, identifier, scope=GOVBR_SCOPE):  # noqa: ANN001, ANN201
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": client.id,
        "redirect_uri": client.redirect_uri,
        "scope": scope,
        "state": "estado-govbr",
        "nonce": "nonce-govbr",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = await http.get("/govbr/authorize", params=params)
    if response.headers.get("location", "").startswith("/entrar"):
        response = await follow_login(http, response, identifier)
    assert response.status_code == 303, response.text
    query = query_of(response.headers["location"])
    assert response.headers["location"].startswith(client.redirect_uri)
    return query, verifier


async def govbr_tokens(http, client, identifier, scope=GOVBR_SCOPE):  # noqa: ANN001, ANN201
    query, verifier = await govbr_code(http, client, identifier, scope)
    data = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
    }
    response = await http.post("/govbr/token", data=data, headers=client.basic())
    return query, response


async def test_discovery_is_govbrs_issuer_and_paths(client):
    response = await client.get("/govbr/.well-known/openid-configuration")
    assert response.status_code == 200
    doc = response.json()
    assert doc["issuer"] == ISSUER  # with the trailing slash, as https://sso.acesso.gov.br/
    assert doc["authorization_endpoint"] == BASE + "/govbr/authorize"
    assert doc["token_endpoint"] == BASE + "/govbr/token"
    assert doc["jwks_uri"] == BASE + "/govbr/jwk"
    assert doc["userinfo_endpoint"] == BASE + "/govbr/userinfo/"
    assert doc["end_session_endpoint"] == BASE + "/govbr/logout"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"govbr_confiabilidades", "govbr_confiabilidades_idtoken"} <= set(
        doc["scopes_supported"]
    )
    # Guarita's own document is unchanged.
    own = (await client.get("/.well-known/openid-configuration")).json()
    assert own["issuer"] == BASE and own["jwks_uri"] == BASE + "/oauth/jwks"


async def test_jwk_has_rs256_rsa_keys_only(client):
    response = await client.get("/govbr/jwk")
    assert response.status_code == 200
    found = response.json()["keys"]
    assert found and all(k["kty"] == "RSA" and k["alg"] == "RS256" for k in found)
    # The standard set still has the ES256 key of the access tokens.
    assert {k["alg"] for k in (await client.get("/oauth/jwks")).json()["keys"]} == {
        "RS256",
        "ES256",
    }
    assert (await client.post("/govbr/jwk")).json() == response.json()  # gov.br: GET or POST


async def test_sign_in_token_shape_id_token_and_userinfo(runtime, client):
    someone = await person(runtime)
    registered = await govbr_client(runtime)
    query, response = await govbr_tokens(client, registered, someone.card_number)
    assert query["iss"] == ISSUER and query["state"] == "estado-govbr"
    assert response.status_code == 200, response.text
    body = response.json()
    # Exactly gov.br's shape: no refresh token (the client did not ask for one).
    assert set(body) == {"access_token", "id_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == set(GOVBR_SCOPE.split())

    keys = KeySet.import_key_set((await client.get("/govbr/jwk")).json())
    id_token = jwt.decode(body["id_token"], keys, algorithms=["RS256"])
    claims = id_token.claims
    assert id_token.header["alg"] == "RS256"
    assert claims["iss"] == ISSUER and claims["aud"] == registered.id
    assert claims["sub"] == someone.cpf == claims["preferred_username"]
    assert claims["nonce"] == "nonce-govbr"
    assert claims["amr"] == ["passwd"]
    assert claims["email_verified"] is True and claims["email"] == "maria@example.com"
    assert "phone_number_verified" in claims
    assert claims["reliability_info"]["level"] == "bronze"
    # Registration matched the registry: gov.br's "cadastro básico" seal, nothing more.
    assert [r["id"] for r in claims["reliability_info"]["reliabilities"]] == ["201"]
    # The access token is RS256 too: a client checking it against /govbr/jwk finds its key.
    access = jwt.decode(body["access_token"], keys, algorithms=["RS256"])
    assert access.claims["iss"] == ISSUER and access.claims["sub"] == someone.cpf
    assert access.claims["amr"] == ["passwd"]

    info = await client.get(
        "/govbr/userinfo/", headers={"Authorization": "Bearer " + body["access_token"]}
    )
    assert info.status_code == 200, info.text
    standard = {
        "sub", "name", "email", "email_verified", "phone_number", "phone_number_verified",
    }
    assert set(info.json()) <= standard
    assert info.json()["sub"] == someone.cpf and info.json()["name"] == someone.name
    # Without the trailing slash it is answered too, never redirected.
    again = await client.get(
        "/govbr/userinfo", headers={"Authorization": "Bearer " + body["access_token"]}
    )
    assert again.status_code == 200 and again.json() == info.json()
    # A gov.br token is not a token of Guarita's own issuer.
    own = await client.get(
        "/oauth/userinfo", headers={"Authorization": "Bearer " + body["access_token"]}
    )
    assert own.status_code == 401


async def test_reliability_info_maps_evidence_to_govbr_seals(runtime, client):
    someone = await person(runtime)
    registered = await govbr_client(runtime)
    now = utcnow()
    async with runtime.db.transaction() as session:
        account = await session.get(Account, someone.account_id)
        account.trust_level = "prata"
        for kind, source, age in [
            (EvidenceKind.REGISTRY_MATCH, None, 30),
            (EvidenceKind.FACE, "datavalid", 2),
            (EvidenceKind.FACE, "in_person", 1),
            (EvidenceKind.BANK, "banco-sem-codigo", 3),
            (EvidenceKind.SECOND_FACTOR, None, 1),
        ]:
            session.add(
                IdentityEvidence(
                    account_id=someone.account_id,
                    kind=kind.value,
                    source=source,
                    recorded_at=now - timedelta(days=age),
                )
            )
    _, response = await govbr_tokens(client, registered, someone.card_number)
    info = claims_of(response.json()["id_token"])["reliability_info"]
    assert info["level"] == "silver"
    assert [r["id"] for r in info["reliabilities"]] == ["201", "401", "601"]
    face = next(r for r in info["reliabilities"] if r["id"] == "401")
    assert face["updatedAt"] == updated_at(now - timedelta(days=1))  # the newest face
    assert face["updatedAt"].endswith("-0300")


async def test_reliability_info_only_with_its_scopes(runtime, client):
    someone = await person(runtime)
    registered = await govbr_client(runtime)
    _, response = await govbr_tokens(client, registered, someone.card_number, "openid profile")
    claims = claims_of(response.json()["id_token"])
    assert "reliability_info" not in claims and claims["sub"] == someone.cpf


async def test_sub_is_the_cpf_only_for_govbr_clients(runtime, client):
    someone = await person(runtime)
    standard = await add_client(runtime)
    tokens = await tokens_for(client, standard, someone.card_number)
    sub = claims_of(tokens["id_token"])["sub"]
    assert sub == someone.account_id and sub != someone.cpf
    assert "reliability_info" not in claims_of(tokens["id_token"])


async def test_refresh_token_only_when_registered_for_it(runtime, client):
    someone = await person(runtime)
    registered = await govbr_client(
        runtime, grant_types=["authorization_code", "refresh_token"]
    )
    _, response = await govbr_tokens(client, registered, someone.card_number)
    body = response.json()
    assert "refresh_token" in body
    refreshed = await client.post(
        "/govbr/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=registered.basic(),
    )
    assert refreshed.status_code == 200, refreshed.text
    assert claims_of(refreshed.json()["id_token"])["sub"] == someone.cpf


async def test_non_govbr_clients_are_refused_under_govbr(runtime, client):
    someone = await person(runtime)
    standard = await add_client(runtime)
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": standard.id,
        "redirect_uri": standard.redirect_uri,
        "scope": "openid",
        "state": "s",
        "nonce": "n",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = await client.get("/govbr/authorize", params=params)
    assert page.status_code == 400 and "location" not in page.headers
    # Its code from /oauth/authorize is not redeemed at /govbr/token either.
    code_response = await client.get("/oauth/authorize", params=params)
    code_response = await follow_login(client, code_response, someone.card_number)
    code = query_of(code_response.headers["location"])["code"]
    refused = await client.post(
        "/govbr/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": standard.redirect_uri,
            "code_verifier": verifier,
        },
        headers=standard.basic(),
    )
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
    # And a gov.br client is refused at Guarita's own endpoints.
    registered = await govbr_client(runtime)
    page = await client.get(
        "/oauth/authorize",
        params={**params, "client_id": registered.id, "redirect_uri": registered.redirect_uri},
    )
    assert page.status_code == 400 and "location" not in page.headers


async def test_logout_by_post_logout_redirect_uri_alone(runtime, client):
    someone = await person(runtime)
    registered = await govbr_client(runtime)
    _, response = await govbr_tokens(client, registered, someone.card_number)
    access = response.json()["access_token"]
    assert (await client.get("/conta")).status_code == 200
    out = await client.get(
        "/govbr/logout", params={"post_logout_redirect_uri": "https://portal.example.org/saiu"}
    )
    assert out.status_code == 303
    assert out.headers["location"] == "https://portal.example.org/saiu"
    # The Guarita session ended, and the tokens issued under it with it.
    again = await client.get("/conta")
    assert again.status_code in (302, 303) and "/entrar" in again.headers["location"]
    info = await client.get("/govbr/userinfo/", headers={"Authorization": "Bearer " + access})
    assert info.status_code == 401


async def test_logout_with_an_unregistered_uri_goes_nowhere(runtime, client):
    await govbr_client(runtime)
    standard = await add_client(runtime, post_logout_redirect_uris=["https://outro.example.org/"])
    for uri in ("https://evil.example.net/", "https://outro.example.org/", ""):
        page = await client.get("/govbr/logout", params={"post_logout_redirect_uri": uri})
        assert page.status_code == 400 and "location" not in page.headers, uri
    assert standard.id


async def test_registration_rules_and_defaults(runtime):
    async with runtime.db.transaction() as session:
        made, secret = await clients_repo.register(
            session,
            ClientSpec(
                name="Portal gov.br",
                redirect_uris=["https://p.example.org/cb"],
                profile="govbr",
            ),
        )
        assert secret and made.profile == "govbr"
        assert made.grant_types == ("authorization_code",)
        assert "govbr_confiabilidades_idtoken" in made.scopes and "cpf" not in made.scopes
        for bad in (
            {"id_token_alg": "ES256"},
            {"subject_type": "pairwise"},
            {"scopes": ["openid", "cpf"]},
            {"profile": "outro"},
        ):
            with pytest.raises(ClientRegistrationError):
                await clients_repo.register(
                    session,
                    ClientSpec(name="X", redirect_uris=["https://p.example.org/cb"],
                               **{"profile": "govbr", **bad}),
                )


def test_amr_in_govbrs_words():
    assert amr_of(["pwd"]) == ["passwd"]
    assert amr_of(["pwd", "otp", "mfa"]) == ["passwd", "otp", "mfa"]
    assert amr_of(["pwd", "otp"]) == ["passwd", "otp", "mfa"]
    assert amr_of(["bank001"]) == ["bank001"]


def test_niveis_all_and_any():
    assert required_level("2,3") == "ouro"  # both: the highest
    assert required_level("(2/3)") == "prata"  # either: the lowest
    assert required_level("2") == "prata"
    assert required_level("(1/3)") == "bronze"
    for bad in ("", "dois", "2;3", "(2,3", "9"):
        assert required_level(bad) is None, bad


async def test_catalogue_checks_client_and_redirect_uri(runtime, client):
    someone = await person(runtime)
    registered = await govbr_client(runtime)
    standard = await add_client(runtime)
    good = {"client_id": registered.id, "niveis": "(2/3)", "redirect_uri": registered.redirect_uri}
    for bad in (
        {**good, "redirect_uri": "https://evil.example.net/cb"},
        {**good, "client_id": standard.id, "redirect_uri": standard.redirect_uri},
        {**good, "niveis": "muito"},
    ):
        page = await client.get("/govbr/confiabilidades", params=bad)
        assert page.status_code == 400 and "location" not in page.headers, bad
    # Not signed in: the sign-in page first, then back to the catalogue.
    first = await client.get("/govbr/confiabilidades", params=good)
    assert first.status_code == 303 and first.headers["location"].startswith("/entrar?")
    back = query_of(first.headers["location"])["next"]
    assert back == "/govbr/confiabilidades?" + urlencode(good)
    # Signed in at bronze: led to "Para continuar, confirme sua identidade" for prata.
    await follow_login(client, first, someone.card_number)
    bronze = await client.get("/govbr/confiabilidades", params=good)
    assert bronze.status_code == 303
    location = bronze.headers["location"]
    assert location.startswith(step_up.PAGE_PATH + "?pedido=")
    found = await step_up.load(runtime, query_of(location)["pedido"], someone.account_id)
    assert found.level == "prata" and found.return_to == back and not found.met
    page = await client.get(location)
    assert page.status_code == 200 and "confirme sua identidade" in page.text.lower()
    # "Voltar sem confirmar": back to the client, unchanged.
    assert found.cancel_to and "desistir=1" in found.cancel_to
    gave_up = await client.get(found.cancel_to)
    assert gave_up.status_code == 303 and gave_up.headers["location"] == registered.redirect_uri
    # At prata (the desk's check, say): the page returns to the catalogue, which returns to
    # the registered redirect_uri.
    async with runtime.db.transaction() as session:
        (await session.get(Account, someone.account_id)).trust_level = "prata"
    again = await client.get(location)
    assert again.status_code == 303 and again.headers["location"] == back
    done = await client.get(back)
    assert done.status_code == 303 and done.headers["location"] == registered.redirect_uri
    # "2,3" asks for both, so ouro: prata is not enough.
    both = await client.get("/govbr/confiabilidades", params={**good, "niveis": "2,3"})
    ticket = query_of(both.headers["location"])["pedido"]
    assert (await step_up.load(runtime, ticket, someone.account_id)).level == "ouro"


async def test_token_at_oauth_token_refused_for_govbr_client(runtime, client):
    someone = await person(runtime)
    registered = await govbr_client(runtime)
    query, verifier = await govbr_code(client, registered, someone.card_number)
    response = await exchange(client, registered, query["code"], verifier)
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


async def test_id_token_hint_and_errors_speak_for_the_govbr_issuer(runtime, client):
    someone = await person(runtime)
    registered = await govbr_client(runtime)
    _, response = await govbr_tokens(client, registered, someone.card_number)
    hint = response.json()["id_token"]
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": registered.id,
        "redirect_uri": registered.redirect_uri,
        "scope": "openid",
        "state": "s2",
        "nonce": "n2",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    # Its own ID token names the person signed in (sub = CPF): single sign-on, no new sign-in.
    again = await client.get("/govbr/authorize", params={**params, "id_token_hint": hint})
    assert again.status_code == 303, again.text
    assert query_of(again.headers["location"])["code"]
    assert query_of(again.headers["location"])["iss"] == ISSUER
    # An error sent back to the client names the gov.br issuer too (RFC 9207).
    bad = await client.get("/govbr/authorize", params={**params, "prompt": "talvez"})
    error = query_of(bad.headers["location"])
    assert error["error"] == "invalid_request" and error["iss"] == ISSUER


async def test_second_factor_is_mfa_and_otp_in_both_tokens(runtime, client):
    from tests.oidc.support import sign_in
    from tests.two_step.test_oidc import enrol_totp, second_step

    someone = await person(runtime)
    secret = await enrol_totp(runtime, someone)
    registered = await govbr_client(runtime)
    verifier, challenge = pkce()
    start = await client.get("/govbr/authorize", params={
        "response_type": "code", "client_id": registered.id,
        "redirect_uri": registered.redirect_uri, "scope": GOVBR_SCOPE, "state": "s",
        "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256",
    })
    next_path = query_of(start.headers["location"])["next"]
    signed = await sign_in(client, someone.card_number, next_path=next_path)
    assert signed.headers["location"] == "/entrar/confirmar"
    done = await second_step(client, secret)
    back = await client.get(done.headers["location"])
    code = query_of(back.headers["location"])["code"]
    response = await client.post("/govbr/token", headers=registered.basic(), data={
        "grant_type": "authorization_code", "code": code,
        "redirect_uri": registered.redirect_uri, "code_verifier": verifier,
    })
    body = response.json()
    for token in (body["id_token"], body["access_token"]):
        assert claims_of(token)["amr"] == ["passwd", "otp", "mfa"]


async def test_a_person_without_cpf_gets_no_tokens_from_a_govbr_client(runtime, client):
    someone = await person(runtime, cpf="", card="100200399")
    registered = await govbr_client(runtime)
    _, response = await govbr_tokens(client, registered, someone.card_number)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert "CPF" in response.json()["error_description"]


async def test_govbr_logout_frames_other_apps_front_channel_then_goes_back(runtime, client):
    """The same session signed into an app that asked for Front-Channel Logout: /govbr/logout
    shows its frame first, then goes on to the gov.br client (Front-Channel Logout 1.0 §4)."""
    someone = await person(runtime)
    registered = await govbr_client(runtime)
    other = await add_client(
        runtime, redirect_uris=["https://app.example.org/cb"],
        frontchannel_logout_uri="https://app.example.org/sair",
    )
    await govbr_tokens(client, registered, someone.card_number)
    await tokens_for(client, other, someone.card_number)
    out = await client.get(
        "/govbr/logout", params={"post_logout_redirect_uri": "https://portal.example.org/saiu"}
    )
    assert out.status_code == 200
    assert '<iframe class="frontchannel-logout" src="https://app.example.org/sair?' in out.text
    assert 'href="https://portal.example.org/saiu" data-continue' in out.text
    assert (await client.get("/conta")).status_code == 303


async def test_reliability_info_leaves_out_expired_proofs_and_those_before_a_lowering(
        runtime, client):
    """A seal is never sent for a proof the level no longer counts: an expired bank
    (``GUARITA_TRUST__EXPIRY_DAYS``) and a face proven before the desk lowered the account."""
    someone = await person(runtime)
    registered = await govbr_client(runtime)
    runtime.settings.trust.expiry_days = {"bank": 30}
    now = utcnow()
    async with runtime.db.transaction() as session:
        for kind, source, age, level in [
            (EvidenceKind.REGISTRY_MATCH, None, 90, None),
            (EvidenceKind.BANK, "banco-sem-codigo", 40, None),
            (EvidenceKind.FACE, "in_person", 20, None),
            (EvidenceKind.LEVEL_CAP, None, 10, "bronze"),
            (EvidenceKind.FACE, "registry", 3, None),  # raises no level: no seal either
            (EvidenceKind.IN_PERSON_DOCUMENT, "rg", 5, None),
        ]:
            session.add(IdentityEvidence(account_id=someone.account_id, kind=kind.value,
                                         source=source, level=level,
                                         recorded_at=now - timedelta(days=age)))
    _, response = await govbr_tokens(client, registered, someone.card_number)
    info = claims_of(response.json()["id_token"])["reliability_info"]
    assert [r["id"] for r in info["reliabilities"]] == ["201", "504"]
