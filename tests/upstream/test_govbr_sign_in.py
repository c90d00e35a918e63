"""Entrar com gov.br against a gov.br stand-in (node-oidc-provider with ``sub`` = CPF and
``reliability_info``): an existing account confirms the link once with its password, then
gov.br alone signs it in; a registry person without an account gets one at the level gov.br
asserts; a CPF the registry does not know is refused plainly, with the central's number
(``docs/upstreams.md`` › Entrar com gov.br)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from guarita.methods import upstream_rp
from guarita.storage.tables import Account, AccountIdentifier, AuditEvent, IdentityEvidence
from guarita.storage.upstream_tables import UpstreamLink
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary, make_cpf
from tests.support.html import csrf_of
from tests.support.upstream import sign_in_at_bank
from tests.upstream.conftest import register_govbr

# Every account has its registry match from registration; these tests look at the rest.
PROOFS = IdentityEvidence.kind != "registry_match"

GOV_PASSWORD = "senha-do-gov"  # noqa: S105 - the stand-in's account
SILVER = {"level": "silver", "reliabilities": [{"id": "201", "level": "silver"}]}


async def _govbr_url(client) -> str:  # noqa: ANN001
    page = await client.get("/entrar")
    assert "Entrar com gov.br" in page.text
    answer = await client.post("/entrar/govbr", data={
        "provider": "gov-br", "next": "", "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def test_an_existing_account_links_once_then_signs_in_with_govbr(app, client, runtime,
                                                                       govbr_server):
    upstream_rp.forget_caches()
    b = await add_beneficiary(runtime, card="888000111", seed=41)
    registered = await client.post("/api/v1/registrations", json={
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
        "password": STRONG, "password_confirmation": STRONG,
        "captcha": solve(runtime.settings)})
    assert registered.status_code == 201
    client.cookies.clear()
    await register_govbr(runtime, govbr_server)
    govbr_server.add_account(b.cpf, GOV_PASSWORD, b.cpf, name=b.name, reliability_info=SILVER)
    cadastro = await client.get("/cadastro")
    assert "Entrar com gov.br" in cadastro.text

    back = await sign_in_at_bank(await _govbr_url(client), b.cpf, GOV_PASSWORD)
    answer = await client.get("/upstream/callback", params=back)
    assert answer.status_code == 303 and answer.headers["location"] == "/entrar/govbr/vincular"
    confirm = await client.get("/entrar/govbr/vincular")
    assert "Vincular sua conta gov.br" in confirm.text
    wrong = await client.post("/entrar/govbr/vincular", data={
        "password": "não é a senha dela", "csrf_token": csrf_of(confirm.text)})
    assert wrong.status_code == 401 and "Vincular" in wrong.text
    right = await client.post("/entrar/govbr/vincular", data={
        "password": STRONG, "csrf_token": csrf_of(wrong.text)})
    assert right.status_code == 303 and right.headers["location"] == "/conta"
    assert (await client.get("/conta")).status_code == 200
    async with runtime.db.read() as session:
        link = (await session.execute(select(UpstreamLink))).scalar_one()
        evidence = (await session.execute(select(IdentityEvidence).where(PROOFS))).scalars().all()
        account = (await session.execute(select(Account))).scalar_one()
    assert (link.issuer, link.subject) == (govbr_server.issuer, b.cpf)
    # gov.br's silver is kept as the level it asserted; the source is the provider.
    assert [(e.kind, e.source, e.level) for e in evidence] == [("govbr", link.provider_id, "prata")]
    assert account.trust_level == "prata"

    # Another browser, later: gov.br alone signs the linked account in.
    transport = httpx.ASGITransport(app=app, client=("203.0.113.12", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        back = await sign_in_at_bank(await _govbr_url(other), b.cpf, GOV_PASSWORD)
        answer = await other.get("/upstream/callback", params=back)
        assert answer.status_code == 303 and answer.headers["location"] == "/conta"
        account = await other.get("/conta")
        assert account.status_code == 200 and b.name.split()[0] in account.text


async def test_a_registry_person_without_an_account_gets_one_at_the_level_govbr_asserts(
        app, client, runtime, govbr_server):
    upstream_rp.forget_caches()
    b = await add_beneficiary(runtime, card="888000112", seed=42)
    await register_govbr(runtime, govbr_server)
    govbr_server.add_account(b.cpf, GOV_PASSWORD, b.cpf, name=b.name, reliability_info=SILVER)
    back = await sign_in_at_bank(await _govbr_url(client), b.cpf, GOV_PASSWORD)
    answer = await client.get("/upstream/callback", params=back)
    assert answer.status_code == 303 and answer.headers["location"] == "/conta?bem-vindo=1"
    assert (await client.get("/conta")).status_code == 200
    async with runtime.db.read() as session:
        account = (await session.execute(select(Account))).scalar_one()
        cpf = (await session.execute(select(AccountIdentifier).where(
            AccountIdentifier.kind == "cpf"))).scalar_one()
        link = (await session.execute(select(UpstreamLink))).scalar_one()
        created = (await session.execute(select(AuditEvent).where(
            AuditEvent.tag == "account.created"))).scalar_one()
    assert account.beneficiary_id == b.id and account.trust_level == "prata"
    assert cpf.value == b.cpf and cpf.verified_at is not None and cpf.login_enabled
    assert link.account_id == account.id and link.subject == b.cpf
    assert created.details == {"method": "govbr", "trust_level": "prata"}
    # The same person again, in another browser: the link signs them in, no second account.
    transport = httpx.ASGITransport(app=app, client=("203.0.113.13", 50003))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        back = await sign_in_at_bank(await _govbr_url(other), b.cpf, GOV_PASSWORD)
        again = await other.get("/upstream/callback", params=back)
        assert again.status_code == 303 and again.headers["location"] == "/conta"
    async with runtime.db.read() as session:
        assert len((await session.execute(select(Account))).scalars().all()) == 1


async def test_a_cpf_not_in_the_registry_is_refused_with_the_centrals_number(client, runtime,
                                                                            govbr_server):
    upstream_rp.forget_caches()
    stranger = make_cpf(4343)
    await register_govbr(runtime, govbr_server)
    govbr_server.add_account(stranger, GOV_PASSWORD, stranger, name="Ninguém")
    back = await sign_in_at_bank(await _govbr_url(client), stranger, GOV_PASSWORD)
    answer = await client.get("/upstream/callback", params=back)
    assert answer.status_code in (400, 403, 422)
    assert "Não encontramos este CPF" in answer.text
    assert runtime.settings.support_phone in answer.text
    assert (await client.get("/conta", follow_redirects=False)).status_code == 303


async def test_no_govbr_button_without_a_govbr_provider(client):
    page = await client.get("/entrar")
    assert "Entrar com gov.br" not in page.text
    assert "Entrar com gov.br" not in (await client.get("/cadastro")).text


async def test_a_callback_url_sent_to_another_browser_signs_nobody_in(app, client, runtime,
                                                                     govbr_server):
    """Login CSRF (RFC 9700 §4.7): the attacker starts "Entrar com gov.br", signs in at gov.br
    as themselves, and sends the callback URL to a victim; the victim's browser, which did not
    start that trip, must not end up in the attacker's account."""
    upstream_rp.forget_caches()
    attacker = await add_beneficiary(runtime, card="888000113", seed=43)
    await register_govbr(runtime, govbr_server)
    govbr_server.add_account(attacker.cpf, GOV_PASSWORD, attacker.cpf, name=attacker.name,
                             reliability_info=SILVER)
    back = await sign_in_at_bank(await _govbr_url(client), attacker.cpf, GOV_PASSWORD)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.14", 50004))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as victim:
        answer = await victim.get("/upstream/callback", params=back)
        assert answer.status_code != 303 or answer.headers["location"] not in (
            "/conta", "/conta?bem-vindo=1")
        assert (await victim.get("/conta", follow_redirects=False)).status_code == 303
    async with runtime.db.read() as session:
        assert (await session.execute(select(Account))).scalars().all() == []
