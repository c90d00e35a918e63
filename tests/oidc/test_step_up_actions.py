"""Actions inside Guarita that need a fresh proof (docs/trust-levels.md › Step-up,
``GUARITA_STEP_UP__ACTIONS``): changing a contact of a prata account asks "Para continuar,
confirme sua identidade" first, then comes back to the form; a bronze account, or a rule turned
off, goes straight to the form; the JSON API answers ``step_up_required``."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from guarita.methods import upstream_rp
from guarita.services import step_up
from guarita.storage.types import utcnow
from tests.oidc.support import person, query_of, sign_in
from tests.oidc.test_step_up import BANK_PASSWORD, in_person_check
from tests.support.factories import STRONG
from tests.support.html import csrf_of, submit
from tests.support.upstream import sign_in_at_bank
from tests.upstream.conftest import BOUND, register_bank


@pytest.fixture
def settings_overrides() -> dict:
    return {"upstream": BOUND}


@pytest.fixture
def bank(bank_server):  # noqa: ANN001, ANN201
    upstream_rp.forget_caches()
    bank_server.set_mode("normal")
    return bank_server


async def proven_long_ago(runtime, b) -> None:  # noqa: ANN001
    """Prata by an agency's document check 30 minutes ago: no longer a fresh proof."""
    with time_machine.travel(utcnow() - timedelta(minutes=30)):
        await in_person_check(runtime, b)


async def test_bronze_changes_a_contact_without_a_step_up(runtime, client):
    b = await person(runtime)
    await sign_in(client, b.card_number)
    page = await client.get("/conta/contato?tipo=celular")
    assert page.status_code == 200 and 'name="value"' in page.text


async def test_prata_reproves_by_bank_then_changes_the_contact(runtime, client, bank):
    b = await person(runtime, seed=51, card="555000151")
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    await proven_long_ago(runtime, b)
    # The bank is another process on the real clock: no time travel from here.
    await sign_in(client, b.card_number)
    asked = await client.get("/conta/contato?tipo=celular")
    assert asked.status_code == 303
    location = asked.headers["location"]
    assert location.startswith("/confirmar-identidade?pedido="), location
    ticket = query_of(location)["pedido"]
    page = await client.get(location)
    assert "antes de trocar o e-mail ou o celular" in page.text and "Banco Exemplo" in page.text
    # The form's POST is refused the same way (the rule is in the service).
    refused = await client.post("/conta/contato", data={
        "kind": "phone", "value": "(61) 98888-7777", "password": STRONG,
        "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/confirmar-identidade?pedido=")

    started = await client.post("/confirmar-identidade/banco", data={
        "pedido": ticket, "provider": "banco-exemplo", "csrf_token": csrf_of(page.text)})
    back = await sign_in_at_bank(started.headers["location"], b.cpf, BANK_PASSWORD)
    done = await client.get("/upstream/callback", params=back)
    assert done.headers["location"] == step_up.page_url(ticket, after=True)
    returned = await client.get(done.headers["location"])
    assert returned.status_code == 303
    assert returned.headers["location"] == "/conta/contato?tipo=celular"
    form = await client.get("/conta/contato?tipo=celular")
    assert form.status_code == 200 and 'name="value"' in form.text
    step = await submit(client, "/conta/contato?tipo=celular",
                        {"kind": "phone", "value": "(61) 98888-7777", "password": STRONG},
                        action="/conta/contato")
    assert step.status_code == 303 and step.headers["location"].startswith(
        "/conta/contato/codigo")
    # The fresh proof does not last: GUARITA_STEP_UP__FRESH_MINUTES later it is asked again.
    with time_machine.travel(utcnow() + timedelta(minutes=40)):
        await sign_in(client, b.card_number)
        again = await client.get("/conta/contato")
        assert again.headers["location"].startswith("/confirmar-identidade?pedido=")


async def test_the_api_answers_step_up_required(runtime, client):
    b = await person(runtime, seed=52, card="555000152")
    await proven_long_ago(runtime, b)
    session = await client.post("/api/v1/sessions",
                                json={"identifier": b.card_number, "password": STRONG})
    token = session.json()["session_token"]
    refused = await client.post("/api/v1/me/contacts",
                                headers={"Authorization": f"Bearer {token}"},
                                json={"kind": "email", "value": "nova@example.com",
                                      "password": STRONG})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "step_up_required"


@pytest.mark.parametrize("settings_overrides", [{"step_up": {"actions": {}}}])
async def test_the_rule_can_be_turned_off(runtime, client):
    b = await person(runtime, seed=53, card="555000153")
    await proven_long_ago(runtime, b)
    await sign_in(client, b.card_number)
    page = await client.get("/conta/contato")
    assert page.status_code == 200
