"""Esqueci minha senha by validação pelo banco, through the JSON API and the callback, against a
real node-oidc-provider ("Banco Exemplo") on loopback (``docs/upstreams.md`` › Recovery)."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from guarita.services import recovery
from guarita.storage.tables import AuditEvent, Credential, IdentityEvidence
from guarita.storage.upstream_tables import UpstreamLink
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary, make_cpf
from tests.support.upstream import sign_in_at_bank
from tests.two_step.helpers import with_totp
from tests.upstream.conftest import BOUND, register_bank

# Every account has its registry match from registration; these tests look at the rest.
PROOFS = IdentityEvidence.kind != "registry_match"

NEW = "uma frase nova para minha conta"
BANK_PASSWORD = "senha-do-banco"  # noqa: S105 - the test bank's account


async def _person(client, runtime, seed: int = 1, card: str = "100200300"):  # noqa: ANN001, ANN202
    b = await add_beneficiary(runtime, card=card, seed=seed)
    registered = await client.post("/api/v1/registrations", json={
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
        "password": STRONG, "password_confirmation": STRONG,
        "captcha": solve(runtime.settings)})
    assert registered.status_code == 201, registered.text
    return b


async def _recovery(client, runtime, identifier: str) -> tuple[str, dict]:  # noqa: ANN001
    started = await client.post("/api/v1/recoveries", json={
        "identifier": identifier, "captcha": solve(runtime.settings)})
    assert started.status_code == 201, started.text
    methods = {m["id"]: m for m in started.json()["methods"]}
    return started.json()["recovery_id"], methods


async def _to_bank(client, rid: str, provider: str = "banco-exemplo", **extra) -> str:  # noqa: ANN001, ANN003
    answer = await client.post(f"/api/v1/recoveries/{rid}/upstream",
                               json={"provider": provider, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()["authorization_url"]


async def _tags(runtime, tag: str) -> list[dict]:  # noqa: ANN001
    async with runtime.db.read() as session:
        rows = (await session.execute(select(AuditEvent).where(AuditEvent.tag == tag))).scalars()
        return [r.details for r in rows]


async def test_recovery_by_bank_end_to_end(client, runtime, bank):
    b = await _person(client, runtime)
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf, name=b.name)
    await register_bank(runtime, bank)
    rid, methods = await _recovery(client, runtime, b.card_number)
    assert methods["bank"]["label"] == "Validar pelo meu banco"
    assert methods["bank"]["providers"] == [{"id": "banco-exemplo", "name": "Banco Exemplo",
                                             "logo_url": None}]
    url = await _to_bank(client, rid)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["code_challenge_method"] == "S256" and query["state"] and query["nonce"]
    assert "code_verifier" not in url and query["redirect_uri"].endswith("/upstream/callback")

    back = await sign_in_at_bank(url, b.cpf, BANK_PASSWORD)
    assert back["iss"] == bank.issuer and back["state"] == query["state"]
    answer = await client.get("/upstream/callback", params=back)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/esqueci-minha-senha/nova-senha"
    new_rid = answer.cookies["guarita_recovery"]
    assert new_rid and new_rid != rid
    # The recovery id rotated at the callback: the one that started the trip is dead.
    old = await client.post(f"/api/v1/recoveries/{rid}/password",
                            json={"password": NEW, "password_confirmation": NEW})
    assert old.status_code == 410
    done = await client.post(f"/api/v1/recoveries/{new_rid}/password",
                             json={"password": NEW, "password_confirmation": NEW})
    assert done.status_code == 204, done.text
    signed = await client.post("/api/v1/sessions", json={"identifier": b.cpf, "password": NEW})
    assert signed.status_code == 201

    async with runtime.db.read() as session:
        evidence = (await session.execute(select(IdentityEvidence).where(PROOFS))).scalars().all()
        links = (await session.execute(select(UpstreamLink))).scalars().all()
    assert [(e.kind, e.source, e.method) for e in evidence] == [("bank", "banco-exemplo", "bank")]
    assert [(link.issuer, link.subject) for link in links] == [(bank.issuer, f"cliente-{b.cpf}")]
    verified = await _tags(runtime, "account.upstream.verified")
    assert verified == [{"during": "recovery", "provider": "banco-exemplo", "amr": "bank001"}]

    # The same answer from the bank, replayed: its state was used once and is gone.
    replayed = await client.get("/upstream/callback", params=back)
    assert replayed.status_code == 502 and "Tentar de novo" not in replayed.text
    assert "central de atendimento" in replayed.text


async def test_a_bank_asserting_another_cpf_is_refused_without_saying_whose_account(
        client, runtime, bank):
    b = await _person(client, runtime, seed=2)
    other = make_cpf(99)
    bank.add_account("outra-pessoa", BANK_PASSWORD, "cliente-outra", cpf=other, name="Outra")
    await register_bank(runtime, bank)
    rid, _ = await _recovery(client, runtime, b.cpf)
    back = await sign_in_at_bank(await _to_bank(client, rid), "outra-pessoa", BANK_PASSWORD)
    answer = await client.get("/upstream/callback", params=back)
    assert answer.status_code == 403
    assert "não é o desta conta" in answer.text
    for secret in (b.name, b.cpf, b.card_number, other):
        assert secret not in answer.text
    assert "/esqueci-minha-senha/metodo" in answer.text  # the other ways forward
    failed = await _tags(runtime, "account.upstream.failed")
    assert failed == [{"during": "recovery", "provider": "banco-exemplo",
                       "reason": "cpf_mismatch"}]
    async with runtime.db.read() as session:
        assert (await session.execute(select(UpstreamLink))).first() is None
        assert (await session.execute(select(IdentityEvidence).where(PROOFS))).first() is None
    assert (await recovery.status(runtime, rid)).state == "code_sent"


async def test_an_unknown_identifier_gets_the_same_methods_and_the_same_refusal(
        client, runtime, bank):
    b = await _person(client, runtime, seed=3)
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    _, known = await _recovery(client, runtime, b.cpf)
    rid, unknown = await _recovery(client, runtime, make_cpf(4242))
    assert known == unknown
    back = await sign_in_at_bank(await _to_bank(client, rid), b.cpf, BANK_PASSWORD)
    answer = await client.get("/upstream/callback", params=back)
    assert answer.status_code == 403 and "não é o desta conta" in answer.text


@pytest.mark.parametrize(("mode", "reason"), [
    ("bad_signature", "bad_signature"),
    ("wrong_iss", "wrong_issuer"),
    ("wrong_iss_param", "wrong_issuer"),
    ("expired", "expired_id_token"),
    ("alg_none", "alg_refused"),
    ("hs256", "alg_refused"),
    ("other_cpf", "cpf_mismatch"),
    ("hang", "timeout"),
])
async def test_an_answer_that_cannot_be_trusted_is_refused_within_the_bound(
        client, runtime, bank, mode, reason):
    b = await _person(client, runtime, seed=5)
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    rid, _ = await _recovery(client, runtime, b.cpf)
    url = await _to_bank(client, rid)
    bank.set_mode(mode)
    if mode == "wrong_iss_param":
        back = await sign_in_at_bank(url, b.cpf, BANK_PASSWORD)
    else:
        back = await sign_in_at_bank(url, b.cpf, BANK_PASSWORD)
    started = time.monotonic()
    answer = await client.get("/upstream/callback", params=back)
    took = time.monotonic() - started
    assert answer.status_code in (403, 502), answer.text
    assert took < BOUND["total_seconds"] + 1.5, took
    failed = await _tags(runtime, "account.upstream.failed")
    assert [f["reason"] for f in failed] == [reason]
    assert (await recovery.status(runtime, rid)).state == "code_sent"  # nothing failed open
    async with runtime.db.read() as session:
        assert (await session.execute(select(IdentityEvidence).where(PROOFS))).first() is None


async def test_the_person_cancels_at_the_bank(client, runtime, bank):
    b = await _person(client, runtime, seed=6)
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    rid, _ = await _recovery(client, runtime, b.cpf)
    back = await sign_in_at_bank(await _to_bank(client, rid), b.cpf, BANK_PASSWORD, cancel=True)
    assert back["error"] == "access_denied"
    answer = await client.get("/upstream/callback", params=back)
    assert answer.status_code == 400 and "cancelada" in answer.text
    assert "/esqueci-minha-senha/banco" in answer.text  # try again


async def test_a_bank_down_at_the_start_answers_at_once_and_a_disabled_bank_is_not_offered(
        client, runtime, bank):
    b = await _person(client, runtime, seed=7)
    await register_bank(runtime, bank, id="banco-exemplo")
    from guarita.services import upstreams
    from guarita.storage.audit import RequestContext
    from tests.support.server import free_port

    down = upstreams.ProviderSpec(kind="bank", name="Banco Fora do Ar",
                                  issuer=f"http://127.0.0.1:{free_port()}", client_id="x",
                                  client_secret="y")
    await upstreams.add(runtime, down, RequestContext(actor="test"))
    rid, methods = await _recovery(client, runtime, b.cpf)
    assert [p["id"] for p in methods["bank"]["providers"]] == ["banco-exemplo", "banco-fora-do-ar"]
    started = time.monotonic()
    answer = await client.post(f"/api/v1/recoveries/{rid}/upstream",
                               json={"provider": "banco-fora-do-ar"})
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "upstream_failed"
    assert time.monotonic() - started < BOUND["total_seconds"] + 1
    await upstreams.set_enabled(runtime, "banco-fora-do-ar", False, RequestContext())
    _, methods = await _recovery(client, runtime, b.cpf)
    assert [p["id"] for p in methods["bank"]["providers"]] == ["banco-exemplo"]
    refused = await client.post(f"/api/v1/recoveries/{rid}/upstream",
                                json={"provider": "banco-fora-do-ar"})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "provider"
    await upstreams.set_enabled(runtime, "banco-exemplo", False, RequestContext())
    _, methods = await _recovery(client, runtime, b.cpf)
    assert "bank" not in methods


async def _kinds(runtime) -> list[str]:  # noqa: ANN001
    async with runtime.db.read() as session:
        return [c.kind for c in (await session.execute(select(Credential))).scalars()]


async def test_a_bank_validation_replaces_a_lost_second_factor(client, runtime, bank):
    b, _session, _secret, _codes = await with_totp(runtime)
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    rid, _ = await _recovery(client, runtime, b.cpf)
    back = await sign_in_at_bank(await _to_bank(client, rid), b.cpf, BANK_PASSWORD)
    answer = await client.get("/upstream/callback", params=back)
    assert answer.headers["location"] == "/esqueci-minha-senha/nova-senha"
    # The bank's answer alone changes nothing: the factors go with the new password.
    assert "totp" in await _kinds(runtime)
    assert not await _tags(runtime, "account.second_factor.removed")
    new_rid = answer.cookies["guarita_recovery"]
    done = await client.post(f"/api/v1/recoveries/{new_rid}/password",
                             json={"password": NEW, "password_confirmation": NEW})
    assert done.status_code == 204, done.text
    kinds = await _kinds(runtime)
    assert "totp" not in kinds and "recovery_codes" not in kinds
    removed = await _tags(runtime, "account.second_factor.removed")
    assert removed and removed[-1].get("by") == "bank"
    assert removed[-1].get("provider") == "banco-exemplo"


async def test_a_callback_opened_in_another_browser_verifies_nothing(client, app, runtime, bank):
    """An attacker who knows the password starts the recovery and sends the bank's address to
    the victim ("confirme no seu banco"): the victim's browser comes back without the trip's
    cookie, so the flow is not verified and the victim's second factor stays."""
    import httpx

    b, _session, _secret, _codes = await with_totp(runtime)
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    rid, _ = await _recovery(client, runtime, b.cpf)
    back = await sign_in_at_bank(await _to_bank(client, rid), b.cpf, BANK_PASSWORD)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as victim:
        answer = await victim.get("/upstream/callback", params=back)
    assert answer.status_code == 502
    assert "guarita_recovery" not in answer.cookies
    assert "totp" in await _kinds(runtime)
    async with runtime.db.read() as session:
        rows = (await session.execute(select(IdentityEvidence))).scalars().all()
    assert not [r for r in rows if r.kind == "bank"]
    # The trip is spent: the attacker's own browser cannot replay it either.
    again = await client.get("/upstream/callback", params=back)
    assert again.status_code >= 400
    refused = await client.post(f"/api/v1/recoveries/{rid}/password",
                                json={"password": NEW, "password_confirmation": NEW})
    assert refused.status_code in (409, 410), refused.text
    assert "totp" in await _kinds(runtime)


async def test_the_app_gets_the_new_recovery_id_at_its_registered_return_uri(
        client, runtime, bank):
    from guarita.oidc import clients

    b = await _person(client, runtime, seed=8)
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    app_uri = "br.gov.exemplo.app:/recuperacao"
    async with runtime.db.transaction() as session:
        await clients.register(session, clients.ClientSpec(
            name="Aplicativo", redirect_uris=[app_uri], public=True,
            application_type="native"))
    rid, _ = await _recovery(client, runtime, b.cpf)
    wrong = await client.post(f"/api/v1/recoveries/{rid}/upstream",
                              json={"provider": "banco-exemplo",
                                    "return_uri": "https://golpe.example/pegar"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "return_uri"
    url = await _to_bank(client, rid, return_uri=app_uri)
    back = await sign_in_at_bank(url, b.cpf, BANK_PASSWORD)
    answer = await client.get("/upstream/callback", params=back)
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}:{target.path}" == app_uri
    given = dict(parse_qsl(target.query))
    assert given["state"] == "verified" and given["recovery_id"] != rid
    done = await client.post(f"/api/v1/recoveries/{given['recovery_id']}/password",
                             json={"password": NEW, "password_confirmation": NEW})
    assert done.status_code == 204, done.text


async def test_the_bank_is_offered_only_where_the_deployment_lists_it(client, runtime, bank):
    """``GUARITA_RECOVERY__METHODS`` decides, as for every other method: an organisation that
    leaves ``bank`` out offers no bank, even with one enabled, and refuses a trip to it."""
    b = await _person(client, runtime, seed=11)
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    rid, methods = await _recovery(client, runtime, b.cpf)
    assert list(methods) == ["email", "sms", "bank"]
    client.cookies.set("guarita_recovery", rid)
    page = await client.get("/esqueci-minha-senha/metodo")
    assert "Como quer confirmar que é você?" in page.text
    assert "Como quer receber o código?" not in page.text
    runtime.settings.recovery.methods = ["email", "sms"]
    rid, methods = await _recovery(client, runtime, b.cpf)
    assert list(methods) == ["email", "sms"]
    refused = await client.post(f"/api/v1/recoveries/{rid}/upstream",
                                json={"provider": "banco-exemplo"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "method_unavailable"
    client.cookies.set("guarita_recovery", rid)
    page = await client.get("/esqueci-minha-senha/metodo")
    assert "Como quer receber o código?" in page.text
