"""Quem recebeu meus dados and the consent ledger (docs/privacy.md), on both backends: the
provider records claim names (never values) per app and day when an ID token or UserInfo hands
them out; the legal basis comes from the client's registration; consents given and taken back
are listed with their scopes; the page, the JSON API and the OpenAPI document say the same."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from guarita.oidc import clients as clients_repo
from guarita.oidc.clients import ClientRegistrationError, ClientSpec
from guarita.oidc.data_releases import released_names
from guarita.services import data_recipients
from guarita.storage.oidc_tables import OidcDataRelease
from guarita.storage.types import utcnow
from tests.oidc.support import add_client, csrf_of, exchange, person, query_of, tokens_for
from tests.oidc.test_consent import answer, consent_page
from tests.oidc.test_govbr_profile import govbr_client, govbr_tokens
from tests.support.factories import STRONG


async def userinfo(http, token: str) -> dict:  # noqa: ANN001
    response = await http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


async def api_token(http, identifier: str) -> dict[str, str]:  # noqa: ANN001
    signed = await http.post("/api/v1/sessions", json={"identifier": identifier,
                                                       "password": STRONG})
    assert signed.status_code == 201, signed.text
    return {"Authorization": "Bearer " + signed.json()["session_token"]}


def test_claim_names_are_the_persons_data_only():
    assert released_names({
        "sub": "x", "name": "Maria", "email": "m@example.com", "email_verified": True,
        "trust_level": "prata", "trust_level_method": "bank", "iss": "i", "nonce": "n",
    }) == ["email", "name", "sub", "trust_level"]
    # gov.br's sub and preferred_username are the CPF.
    assert released_names({"sub": "1", "preferred_username": "1", "scope": ["openid"],
                           "reliability_info": {}}, sub_is_cpf=True) == ["cpf", "trust_level"]


async def test_userinfo_and_id_token_are_recorded_once_a_day_by_name(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, name="Portal do Beneficiário",
                         scopes=["openid", "profile", "email", "cpf"])
    token = (await tokens_for(client, c, b.card_number,
                              scope="openid profile email cpf"))["access_token"]
    for _ in range(3):  # a portal reading UserInfo on every page
        await userinfo(client, token)
    async with runtime.db.read() as session:
        rows = (await session.execute(select(OidcDataRelease))).scalars().all()
    assert sorted((r.via, r.claims) for r in rows) == [
        ("id_token", "sub"), ("userinfo", "birthdate cpf email name sub"),
    ]
    # Names only: no value the person holds is stored.
    stored = " ".join(r.claims for r in rows)
    assert b.cpf not in stored and "maria@example.com" not in stored and "Maria" not in stored

    found = await data_recipients.recipients(runtime, b.account_id)
    assert [(a.name, a.legal_basis) for a in found] == [("Portal do Beneficiário", "consent")]
    [release] = found[0].releases
    assert release.claims == ["cpf", "name", "birthdate", "email", "sub"]
    assert sorted(release.via) == ["id_token", "userinfo"]

    # Another day, another line.
    with time_machine.travel(utcnow() + timedelta(days=2), tick=True):
        client.cookies.clear()
        fresh = (await tokens_for(client, c, b.card_number, scope="openid email"))["access_token"]
        await userinfo(client, fresh)
        later = await data_recipients.recipients(runtime, b.account_id)
    assert [r.claims for r in later[0].releases] == [["email", "sub"],
                                                     ["cpf", "name", "birthdate", "email", "sub"]]


async def test_govbr_id_token_counts_the_cpf(runtime, client):
    b = await person(runtime)
    c = await govbr_client(runtime, name="Portal gov.br")
    _, response = await govbr_tokens(client, c, b.card_number, scope="openid email profile")
    assert response.status_code == 200, response.text
    [app] = await data_recipients.recipients(runtime, b.account_id)
    assert app.name == "Portal gov.br" and "cpf" in app.claims and "sub" not in app.claims
    assert {"name", "email"} <= set(app.claims)


async def test_legal_basis_is_registered_checked_and_updated(runtime):
    with pytest.raises(ClientRegistrationError, match="informe a lei ou o contrato"):
        await add_client(runtime, legal_basis="legal_duty")
    with pytest.raises(ClientRegistrationError, match="Base legal desconhecida"):
        await add_client(runtime, legal_basis="interesse")
    c = await add_client(runtime, legal_basis="legal_duty",
                         legal_basis_text="  Lei 8.213/1991,   art. 124 ")
    async with runtime.db.transaction() as session:
        found = await clients_repo.find(session, c.id)
        assert (found.legal_basis, found.legal_basis_text) == (
            "legal_duty", "Lei 8.213/1991, art. 124")
        back = await clients_repo.set_legal_basis(session, c.id, "consent", None)
        assert (back.legal_basis, back.legal_basis_text) == ("consent", None)
        with pytest.raises(ClientRegistrationError):
            await clients_repo.set_legal_basis(session, c.id, "legal_duty", "")
        assert await clients_repo.set_legal_basis(session, "nao-existe", "consent", None) is None
    assert ClientSpec(name="x").legal_basis == "consent"


async def test_page_and_api_say_who_received_what_and_why(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, name="Portal do Beneficiário", legal_basis="legal_duty",
                         legal_basis_text="Lei 8.213/1991, art. 124",
                         scopes=["openid", "profile", "email", "cpf"])
    token = (await tokens_for(client, c, b.card_number,
                              scope="openid email cpf"))["access_token"]
    await userinfo(client, token)

    page = await client.get("/conta/quem-recebeu-meus-dados")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert re.search(
        r"Portal do Beneficiário recebeu seu CPF, seu e-mail e um código que identifica sua "
        r"conta em \d\d/\d\d/\d{4} às \d\d:\d\d\.", text), text
    assert "obrigada por lei ou contrato (Lei 8.213/1991, art. 124)" in text
    assert b.cpf not in page.text
    conta = await client.get("/conta")
    assert 'href="/conta/quem-recebeu-meus-dados"' in conta.text

    english = await client.get("/conta/quem-recebeu-meus-dados", params={"lang": "en"})
    assert "received your CPF, your e-mail" in re.sub(r"\s+", " ", english.text)

    auth = await api_token(client, b.card_number)
    body = (await client.get("/api/v1/me/data-recipients", headers=auth)).json()
    [app] = body["recipients"]
    assert app["client_id"] == c.id and app["client_name"] == "Portal do Beneficiário"
    assert app["legal_basis"] == "legal_duty"
    assert app["legal_basis_text"] == "Lei 8.213/1991, art. 124"
    assert app["claims"] == ["cpf", "email", "sub"]
    assert app["releases"][0]["claims"] == ["cpf", "email", "sub"]
    assert set(app["releases"][0]["via"]) == {"id_token", "userinfo"}


async def test_signed_out_gets_the_envelope_and_the_page_asks_to_sign_in(client):
    for path in ("/api/v1/me/data-recipients", "/api/v1/me/consents"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
    page = await client.get("/conta/quem-recebeu-meus-dados")
    assert page.status_code == 303 and page.headers["location"].startswith("/entrar")
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/me/data-recipients", "/api/v1/me/consents"):
        answers = spec["paths"][path]["get"]["responses"]
        assert "200" in answers and answers["401"]["content"]["application/json"]["schema"][
            "$ref"].endswith("/ErrorEnvelope")


async def test_consent_given_and_revoked_shows_in_the_ledger(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, name="Farmácia Popular Online", third_party=True,
                         scopes=["openid", "profile", "beneficiary"])
    page, verifier = await consent_page(client, c, b.card_number,
                                        scope="openid profile beneficiary")
    allowed = await answer(client, page, "allow")
    code = query_of(allowed.headers["location"])["code"]
    assert (await exchange(client, c, code, verifier)).status_code == 200

    apps = await client.get("/conta/aplicativos")
    revoked = await client.post("/conta/aplicativos/desconectar", data={
        "csrf_token": csrf_of(apps.text), "client_id": c.id})
    assert revoked.status_code == 303

    ledger = await data_recipients.consent_ledger(runtime, b.account_id)
    assert [(e.action, e.client_name, e.scopes) for e in ledger] == [
        ("revoked", "Farmácia Popular Online", ["beneficiary", "openid", "profile"]),
        ("granted", "Farmácia Popular Online", ["openid", "profile", "beneficiary"]),
    ]
    assert ledger[0].at >= ledger[1].at

    text = re.sub(r"\s+", " ", (await client.get("/conta/quem-recebeu-meus-dados")).text)
    assert "Você retirou a autorização de Farmácia Popular Online" in text
    assert ("Você autorizou Farmácia Popular Online a saber: saber que é você, seu nome e sua "
            "data de nascimento e o número da sua carteirinha.") in text
    # The app received the sub when it got its ID token: it is listed until the window ends.
    assert "Farmácia Popular Online recebeu um código que identifica sua conta" in text

    auth = await api_token(client, b.card_number)
    events = (await client.get("/api/v1/me/consents", headers=auth)).json()["events"]
    assert [(e["action"], e["client_id"]) for e in events] == [
        ("revoked", c.id), ("granted", c.id)]
    assert events[0]["scopes"] == ["beneficiary", "openid", "profile"]
