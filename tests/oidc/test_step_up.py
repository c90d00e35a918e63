"""Step-up for services (docs/trust-levels.md › Step-up): ``acr_values`` above the account's
level takes the person to "Para continuar, confirme sua identidade" and back to the
authorization request; ``prompt=none`` answers ``interaction_required`` / ``login_required``
(OpenID Connect Core 1.0 §3.1.2.6); the ID token's ``acr`` is the level met (§2).

Every branch: met, unmet → page, a method raises the level → back and a code, still too low
after a method, a method fails (the bank confirms another CPF), ``prompt=none``, unknown values
ignored, gov.br's numeric levels, giving up, and tickets that are not one's own."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import time_machine
from joserfc import jwt
from joserfc.jwk import KeySet

from guarita.methods import upstream_rp
from guarita.services import step_up, support
from guarita.storage.tables import Account
from guarita.storage.types import utcnow
from tests.console.helpers import CTX as DESK_CTX
from tests.console.helpers import quick_staff
from tests.oidc.support import (
    add_client,
    authorize,
    exchange,
    person,
    pkce,
    query_of,
    sign_in,
)
from tests.support.html import csrf_of
from tests.support.upstream import sign_in_at_bank
from tests.upstream.conftest import BOUND, register_bank

PRATA = "urn:guarita:loa:prata"
OURO = "urn:guarita:loa:ouro"
BANK_PASSWORD = "senha-do-banco"  # noqa: S105 - the test bank's account


@pytest.fixture
def settings_overrides() -> dict:
    return {"upstream": BOUND}


@pytest.fixture
def bank(bank_server):  # noqa: ANN001, ANN201
    """The session's "Banco Exemplo" (tests/support/upstream.py), behaving."""
    upstream_rp.forget_caches()
    bank_server.set_mode("normal")
    return bank_server


async def id_token_claims(client, token: str) -> dict:  # noqa: ANN001
    keys = KeySet.import_key_set((await client.get("/oauth/jwks")).json())
    return jwt.decode(token, keys, algorithms=["RS256", "ES256"]).claims


def assert_error(response: httpx.Response, c, error: str) -> dict:  # noqa: ANN001
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(c.redirect_uri + "?"), location
    query = query_of(location)
    assert query["error"] == error and query["state"] == "estado-123", query
    assert query["iss"] == "http://testserver"
    return query


async def to_step_up(client, c, b, acr_values: str = PRATA) -> tuple[str, str]:  # noqa: ANN001
    """Signed in, then an authorization request above the level: answers (verifier, ticket)."""
    await sign_in(client, b.card_number)
    verifier, challenge = pkce()
    response = await authorize(client, c, challenge, acr_values=acr_values)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/confirmar-identidade?pedido="), location
    return verifier, query_of(location)["pedido"]


async def in_person_check(runtime, b) -> None:  # noqa: ANN001
    """The desk's supervisor checks a document in person ("Vá a uma agência")."""
    member = await quick_staff(runtime, "supervisor")
    actor = member.actor()
    reason = support.parse_reason("presencial", None)
    checked = await support.caller_check(runtime, actor, b.id, reason=reason, context=DESK_CTX,
                                         birth_date=b.birth_date.isoformat(), cpf=b.cpf,
                                         card_number=None)
    assert checked.passed
    await support.record_identity_check(runtime, actor, b.id, document_type="rg",
                                        document_number="12.345.678-9", reason=reason,
                                        context=DESK_CTX)


async def test_met_level_issues_a_code_with_that_acr(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    verifier, challenge = pkce()
    response = await authorize(client, c, challenge, acr_values="urn:guarita:loa:bronze")
    code = query_of(response.headers["location"])["code"]
    claims = await id_token_claims(
        client, (await exchange(client, c, code, verifier)).json()["id_token"])
    assert claims["acr"] == "urn:guarita:loa:bronze"


async def test_unmet_level_shows_the_page_with_the_ways_to_raise_it(runtime, client, bank):
    b = await person(runtime)
    await register_bank(runtime, bank)
    c = await add_client(runtime)
    _, ticket = await to_step_up(client, c, b)
    page = await client.get(step_up.page_url(ticket))
    assert page.status_code == 200
    text = page.text
    assert "<h1>Para continuar, confirme sua identidade</h1>" in text
    assert "O serviço Portal do Beneficiário pede uma conta no nível Prata" in text
    assert "A sua está no nível Bronze" in text
    assert "Banco Exemplo" in text and 'action="/confirmar-identidade/banco"' in text
    assert "Vá a uma agência" in text
    # The bank's origin is allowed as a form target: the button's answer redirects there.
    assert urlsplit(bank.issuer).netloc in page.headers["content-security-policy"]
    # Asked again later, the request still waits for the same thing (nothing was granted).
    _, again = await to_step_up(client, c, b)
    assert again != ticket


async def test_a_method_that_raises_the_level_returns_to_the_request(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    verifier, ticket = await to_step_up(client, c, b)
    await in_person_check(runtime, b)  # "Vá a uma agência", then the page again
    back = await client.get(step_up.page_url(ticket, after=True))
    assert back.status_code == 303
    resume = back.headers["location"]
    assert resume.startswith("/oauth/authorize/resume?interaction="), resume
    answer = await client.get(resume)
    query = query_of(answer.headers["location"])
    assert answer.headers["location"].startswith(c.redirect_uri) and "code" in query, query
    claims = await id_token_claims(
        client, (await exchange(client, c, query["code"], verifier)).json()["id_token"])
    assert claims["acr"] == PRATA
    # The ticket was spent by the way back.
    spent = await client.get(step_up.page_url(ticket))
    assert spent.status_code == 410 and "Comece de novo" in spent.text


async def test_still_too_low_after_a_method_says_so_and_offers_the_rest(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    _, ticket = await to_step_up(client, c, b, acr_values=OURO)
    await in_person_check(runtime, b)  # prata, but ouro was asked
    page = await client.get(step_up.page_url(ticket, after=True))
    assert page.status_code == 200
    assert "Sua conta continua no nível Prata, e é preciso o nível Ouro" in page.text
    assert "Vá a uma agência" in page.text
    assert "Banco Exemplo" not in page.text  # a bank never makes ouro


async def test_a_bank_of_another_person_fails_plainly_and_leads_back(runtime, client, bank):
    b = await person(runtime, seed=41, card="555000141")
    bank.add_account("parente", BANK_PASSWORD, "cliente-parente", cpf="52998224725")
    await register_bank(runtime, bank)
    c = await add_client(runtime)
    _, ticket = await to_step_up(client, c, b)
    page = await client.get(step_up.page_url(ticket))
    started = await client.post("/confirmar-identidade/banco", data={
        "pedido": ticket, "provider": "banco-exemplo", "csrf_token": csrf_of(page.text)})
    assert started.status_code == 303, started.text
    back = await sign_in_at_bank(started.headers["location"], "parente", BANK_PASSWORD)
    refused = await client.get("/upstream/callback", params=back)
    assert refused.status_code == 403 and "não é o desta conta" in refused.text
    assert step_up.page_url(ticket).replace("&", "&amp;") in refused.text  # "Tentar de novo"
    again = await client.get(step_up.page_url(ticket))
    assert again.status_code == 200 and "Para continuar, confirme sua identidade" in again.text


async def test_a_bank_validation_raises_the_level_and_returns_to_the_request(runtime, client,
                                                                             bank):
    b = await person(runtime, seed=42, card="555000142")
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    c = await add_client(runtime)
    verifier, ticket = await to_step_up(client, c, b)
    page = await client.get(step_up.page_url(ticket))
    started = await client.post("/confirmar-identidade/banco", data={
        "pedido": ticket, "provider": "banco-exemplo", "csrf_token": csrf_of(page.text)})
    back = await sign_in_at_bank(started.headers["location"], b.cpf, BANK_PASSWORD)
    done = await client.get("/upstream/callback", params=back)
    assert done.status_code == 303
    assert done.headers["location"] == step_up.page_url(ticket, after=True)
    resume = await client.get(done.headers["location"])
    assert resume.headers["location"].startswith("/oauth/authorize/resume?interaction=")
    answer = await client.get(resume.headers["location"])
    query = query_of(answer.headers["location"])
    claims = await id_token_claims(
        client, (await exchange(client, c, query["code"], verifier)).json()["id_token"])
    assert claims["acr"] == PRATA


async def test_an_unknown_bank_or_a_forged_ticket_goes_nowhere(runtime, client, bank):
    b = await person(runtime)
    await register_bank(runtime, bank)
    c = await add_client(runtime)
    _, ticket = await to_step_up(client, c, b)
    page = await client.get(step_up.page_url(ticket))
    wrong = await client.post("/confirmar-identidade/banco", data={
        "pedido": ticket, "provider": "banco-falso", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 422 and "não está disponível" in wrong.text
    forged = await client.post("/confirmar-identidade/banco", data={
        "pedido": "x" * 30, "provider": "banco-exemplo", "csrf_token": csrf_of(page.text)})
    assert forged.status_code == 410


async def test_another_persons_ticket_is_not_found(runtime, client, app):
    b = await person(runtime)
    other = await person(runtime, seed=43, card="555000143", email="outra@example.com")
    c = await add_client(runtime)
    _, ticket = await to_step_up(client, c, b)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as stranger:
        anonymous = await stranger.get(step_up.page_url(ticket))
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/entrar?next=%2Fconfirmar-identidade")
        await sign_in(stranger, other.card_number)
        theirs = await stranger.get(step_up.page_url(ticket))
        assert theirs.status_code == 410 and "Portal do Beneficiário" not in theirs.text


async def test_giving_up_answers_unmet_authentication_requirements(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    _, ticket = await to_step_up(client, c, b)
    page = await client.get(step_up.page_url(ticket))
    cancel = next(line for line in page.text.splitlines() if "Voltar sem confirmar" in line)
    href = cancel.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert href.startswith("/oauth/authorize/resume?interaction=") and "desistir=1" in href
    assert_error(await client.get(href), c, "unmet_authentication_requirements")


async def test_prompt_none_answers_interaction_required_or_login_required(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    _, challenge = pkce()
    nobody = await authorize(client, c, challenge, acr_values=PRATA, prompt="none")
    assert_error(nobody, c, "login_required")
    await sign_in(client, b.card_number)
    low = await authorize(client, c, challenge, acr_values=PRATA, prompt="none")
    assert_error(low, c, "interaction_required")
    fine = await authorize(client, c, challenge, acr_values="urn:guarita:loa:bronze",
                           prompt="none")
    assert "code" in query_of(fine.headers["location"])


async def test_unknown_acr_values_are_ignored(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    verifier, challenge = pkce()
    response = await authorize(client, c, challenge,
                               acr_values="urn:outro:loa:3 urn:guarita:loa:platina 9")
    query = query_of(response.headers["location"])
    assert "code" in query, query
    claims = await id_token_claims(
        client, (await exchange(client, c, query["code"], verifier)).json()["id_token"])
    assert claims["acr"] == "urn:guarita:loa:bronze"


async def test_govbr_numeric_levels_are_read(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    _, ticket = await to_step_up(client, c, b, acr_values="2")
    page = await client.get(step_up.page_url(ticket))
    assert "pede uma conta no nível Prata" in page.text
    await in_person_check(runtime, b)
    verifier, challenge = pkce()
    response = await authorize(client, c, challenge, acr_values="3 2")  # weakest: 2 (prata)
    assert "code" in query_of(response.headers["location"])


async def test_the_way_back_is_only_a_path_on_this_site(runtime):
    b = await person(runtime)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "evil"):
        try:
            await step_up.begin(runtime, b.account_id, "prata", target)
        except ValueError:
            continue
        raise AssertionError(f"aceitou {target}")


@pytest.mark.parametrize("settings_overrides", [{"trust": {"expiry_days": {"in_person_document": 30}}}])
async def test_expired_evidence_no_longer_meets_the_level(runtime, client):
    """An agency's check 31 days ago with a 30-day expiry: the authorization request reads the
    current level (bronze), not the stored one, and asks again."""
    b = await person(runtime)
    c = await add_client(runtime)
    with time_machine.travel(utcnow() - timedelta(days=31)):
        await in_person_check(runtime, b)
    async with runtime.db.read() as session:
        assert (await session.get(Account, b.account_id)).trust_level == "prata"  # stored
    _, ticket = await to_step_up(client, c, b)
    page = await client.get(step_up.page_url(ticket))
    assert "A sua está no nível Bronze" in page.text
