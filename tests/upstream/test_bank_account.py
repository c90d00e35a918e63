"""Minha conta › Bancos e gov.br: "Validar minha identidade pelo banco" records bank evidence and
a link; the link is listed and "Desvincular" removes it (``docs/upstreams.md`` › Proofing); the
trip completes only in the browser of the account that started it."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from guarita.storage.tables import IdentityEvidence
from guarita.storage.upstream_tables import UpstreamLink
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary, make_cpf
from tests.support.html import csrf_of, submit
from tests.support.upstream import sign_in_at_bank
from tests.upstream.conftest import register_bank

# Every account has its registry match from registration; these tests look at the rest.
PROOFS = IdentityEvidence.kind != "registry_match"

BANK_PASSWORD = "senha-do-banco"  # noqa: S105 - the test bank's account


async def _signed_in(client, runtime, seed: int, card: str):  # noqa: ANN001, ANN202
    b = await add_beneficiary(runtime, card=card, seed=seed)
    registered = await client.post("/api/v1/registrations", json={
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
        "password": STRONG, "password_confirmation": STRONG,
        "captcha": solve(runtime.settings)})
    assert registered.status_code == 201, registered.text
    signed = await submit(client, "/entrar", {"identifier": b.card_number, "password": STRONG})
    assert signed.status_code == 303, signed.text
    return b


async def _bank_url(client, provider: str = "banco-exemplo") -> str:  # noqa: ANN001
    answer = await submit(client, "/conta/bancos", {"provider": provider},
                          action="/conta/bancos/validar")
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def test_validate_identity_with_the_bank_then_unlink(client, runtime, bank):
    b = await _signed_in(client, runtime, 11, "555000111")
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    account = await client.get("/conta")
    assert "/conta/bancos" in account.text and "Bancos e gov.br" in account.text
    page = await client.get("/conta/bancos")
    assert "Validar minha identidade pelo banco" in page.text and "Banco Exemplo" in page.text
    assert "Nenhuma conta de banco" in page.text

    back = await sign_in_at_bank(await _bank_url(client), b.cpf, BANK_PASSWORD)
    done = await client.get("/upstream/callback", params=back)
    assert done.status_code == 303 and done.headers["location"] == "/conta/bancos?validado=1"
    page = await client.get(done.headers["location"])
    assert "Seu banco confirmou sua identidade" in page.text
    assert "Desvincular" in page.text and f"cliente-{b.cpf}" not in page.text  # never the sub
    async with runtime.db.read() as session:
        evidence = (await session.execute(select(IdentityEvidence).where(PROOFS))).scalars().all()
        link = (await session.execute(select(UpstreamLink))).scalar_one()
    assert [(e.kind, e.source) for e in evidence] == [("bank", "banco-exemplo")]

    unlinked = await client.post(f"/conta/bancos/{link.id}/desvincular",
                                 data={"csrf_token": csrf_of(page.text)})
    assert unlinked.status_code == 303
    page = await client.get(unlinked.headers["location"])
    assert "O vínculo foi desfeito" in page.text and "Nenhuma conta de banco" in page.text
    async with runtime.db.read() as session:
        assert (await session.execute(select(UpstreamLink))).first() is None


async def test_another_cpf_at_the_bank_records_nothing(client, runtime, bank):
    b = await _signed_in(client, runtime, 12, "555000112")
    bank.add_account("parente", BANK_PASSWORD, "cliente-parente", cpf=make_cpf(77))
    await register_bank(runtime, bank)
    back = await sign_in_at_bank(await _bank_url(client), "parente", BANK_PASSWORD)
    refused = await client.get("/upstream/callback", params=back)
    assert refused.status_code == 403 and "não é o desta conta" in refused.text
    assert b.cpf not in refused.text and "/conta/bancos" in refused.text
    async with runtime.db.read() as session:
        assert (await session.execute(select(IdentityEvidence).where(PROOFS))).first() is None
        assert (await session.execute(select(UpstreamLink))).first() is None


async def test_the_trip_completes_only_in_the_browser_of_the_account_that_started_it(
        app, client, runtime, bank):
    b = await _signed_in(client, runtime, 13, "555000113")
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    back = await sign_in_at_bank(await _bank_url(client), b.cpf, BANK_PASSWORD)
    # The answer lands in another browser (no session): refused, nothing recorded.
    transport = httpx.ASGITransport(app=app, client=("203.0.113.11", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        answer = await other.get("/upstream/callback", params=back)
    assert answer.status_code == 401
    async with runtime.db.read() as session:
        assert (await session.execute(select(IdentityEvidence).where(PROOFS))).first() is None
