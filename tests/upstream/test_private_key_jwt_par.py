"""A FAPI-style bank (Open Finance Brasil asks for this): Guarita authenticates with
``private_key_jwt`` (its own key pair for this bank, published at the JWKS URL ``add`` prints),
pushes the authorization request first because the bank's discovery requires it (RFC 9126), and
reads the CPF at userinfo because the bank keeps it out of the ID token (``docs/upstreams.md``)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select

from guarita.methods import upstream_rp
from guarita.services import upstreams
from guarita.storage.audit import RequestContext
from guarita.storage.tables import IdentityEvidence
from tests.support import upstream as support
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary

# Every account has its registry match from registration; these tests look at the rest.
PROOFS = IdentityEvidence.kind != "registry_match"

NEW = "uma frase nova para minha conta"
BANK_PASSWORD = "senha-do-banco"  # noqa: S105 - the test bank's account


async def test_recovery_through_a_bank_that_wants_private_key_jwt_and_par(client, runtime):
    upstream_rp.forget_caches()
    port = support.free_port()
    added = await upstreams.add(runtime, upstreams.ProviderSpec(
        kind="bank", name="Banco Aberto", issuer=f"http://127.0.0.1:{port}", code="341",
        client_id="guarita-fapi", auth_method="private_key_jwt"), RequestContext())
    assert added["jwks_url"] == "http://testserver/upstream/banco-aberto/jwks.json"
    published = await client.get("/upstream/banco-aberto/jwks.json")
    assert published.status_code == 200
    jwks = published.json()
    assert [k["kty"] for k in jwks["keys"]] == ["RSA"] and "d" not in jwks["keys"][0]

    b = await add_beneficiary(runtime, card="777000111", seed=31)
    registered = await client.post("/api/v1/registrations", json={
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
        "password": STRONG, "password_confirmation": STRONG,
        "captcha": solve(runtime.settings)})
    assert registered.status_code == 201

    # The bank knows Guarita by the public key it fetched from the JWKS URL.
    metadata = support.client_metadata(support.REDIRECT, jwks=jwks, client_id="guarita-fapi")
    with support.node_provider([metadata], name="Banco Aberto", par=True, port=port,
                               cpf_in_id_token=False) as bank:
        discovery = (await _get(bank.issuer + "/.well-known/openid-configuration"))
        assert discovery["require_pushed_authorization_requests"] is True
        bank.add_account(b.cpf, BANK_PASSWORD, "cliente-aberto-1", cpf=b.cpf)
        started = await client.post("/api/v1/recoveries", json={
            "identifier": b.cpf, "captcha": solve(runtime.settings)})
        rid = started.json()["recovery_id"]
        to_bank = await client.post(f"/api/v1/recoveries/{rid}/upstream",
                                    json={"provider": "banco-aberto"})
        assert to_bank.status_code == 201, to_bank.text
        url = to_bank.json()["authorization_url"]
        query = dict(parse_qsl(urlsplit(url).query))
        # Pushed: only client_id and request_uri travel through the browser.
        assert set(query) == {"client_id", "request_uri"}
        back = await support.sign_in_at_bank(url, b.cpf, BANK_PASSWORD)
        answer = await client.get("/upstream/callback", params=back)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/esqueci-minha-senha/nova-senha"
    done = await client.post(f"/api/v1/recoveries/{answer.cookies['guarita_recovery']}/password",
                             json={"password": NEW, "password_confirmation": NEW})
    assert done.status_code == 204, done.text
    async with runtime.db.read() as session:
        evidence = (await session.execute(select(IdentityEvidence).where(PROOFS))).scalars().all()
    assert [(e.kind, e.source) for e in evidence] == [("bank", "banco-aberto")]


async def _get(url: str) -> dict:
    import httpx

    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(url)).json()
