"""The health-plan form's "Não possui CPF" box, as in the Cadastro (DESIGN.md › Cadastro): the
method's step carries the box, the page draws it with the CPF field, and the page and the API
accept "no CPF" alike (``no_cpf`` ticked, or ``cpf: null`` in JSON); a blank CPF without the
box asks for one or the other. The box matches only a registry record without a CPF, and the
answer never says which datum differed (SECURITY.md › Account enumeration)."""

from __future__ import annotations

from sqlalchemy import select

from guarita.storage.tables import OutboxMessage
from tests.recovery.test_recovery_service import last_code
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary
from tests.support.html import csrf_of

NEW = "outra frase nova para a conta"


async def _registered_without_cpf(client, runtime, card="700800900", email="rosa.amaral@example.com"):  # noqa: ANN001
    b = await add_beneficiary(runtime, card=card, cpf="", email=email, phone=None, seed=31)
    response = await client.post("/api/v1/registrations", json={
        "card_number": b.card_number, "cpf": None, "birth_date": b.birth_date.isoformat(),
        "password": STRONG, "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    assert response.status_code == 201, response.text
    client.cookies.clear()
    return b


async def _codes_to(runtime, to: str) -> int:  # noqa: ANN001
    async with runtime.db.transaction() as s:
        return len([m for m in (await s.execute(
            select(OutboxMessage).where(OutboxMessage.to == to))).scalars()
            if m.template == "recovery_code"])


async def test_the_step_carries_the_box(runtime):
    from guarita.methods import kba
    from guarita.services import recovery_kba

    fields = {f.name: f for f in (await recovery_kba.form_step(runtime)).fields}
    assert fields["no_cpf"].type == "checkbox" and not fields["cpf"].required
    assert "Não possui CPF" in fields["cpf"].hint
    assert kba.ticked("on") and kba.ticked(True) and not kba.ticked("") and not kba.ticked(None)


async def test_the_api_accepts_no_cpf_as_null_or_as_the_box(client, runtime):
    b = await _registered_without_cpf(client, runtime)
    for body in ({"cpf": None}, {"no_cpf": True}, {"cpf": "", "no_cpf": True}):
        before = await _codes_to(runtime, b.email)
        response = await client.post("/api/v1/recoveries/kba", json={
            "identifier": b.card_number, "birth_date": b.birth_date.isoformat(),
            "captcha": solve(runtime.settings), **body})
        assert response.status_code == 201, (body, response.text)
        assert await _codes_to(runtime, b.email) == before + 1, body
    rid = response.json()["recovery_id"]
    ok = await client.post(f"/api/v1/recoveries/{rid}/code",
                           json={"code": await last_code(runtime, b.email)})
    assert ok.status_code == 200


async def test_a_blank_cpf_without_the_box_asks_for_one_or_the_other(client, runtime):
    response = await client.post("/api/v1/recoveries/kba", json={
        "identifier": "700800900", "cpf": "", "birth_date": "1950-03-04",
        "captcha": solve(runtime.settings)})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_cpf" and error["field"] == "cpf"
    assert "Não possui CPF" in error["message"]


async def test_the_box_does_not_match_a_person_who_has_a_cpf(client, runtime):
    """Ticking the box for someone whose registry record has a CPF is a mismatch, answered
    like any other: the same sentence, no code sent."""
    b = await add_beneficiary(runtime, card="700800901", email="beatriz.lima@example.com", seed=32)
    registered = await client.post("/api/v1/registrations", json={
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
        "password": STRONG, "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    assert registered.status_code == 201, registered.text
    client.cookies.clear()
    matched = await client.post("/api/v1/recoveries/kba", json={
        "identifier": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
        "captcha": solve(runtime.settings)})
    ticked = await client.post("/api/v1/recoveries/kba", json={
        "identifier": b.card_number, "no_cpf": True, "birth_date": b.birth_date.isoformat(),
        "captcha": solve(runtime.settings)})
    assert ticked.status_code == matched.status_code == 201
    assert ticked.json()["message"] == matched.json()["message"], (matched.text, ticked.text)
    assert await _codes_to(runtime, b.email) == 1  # only the matching request sent a code


async def test_the_page_draws_the_box_and_accepts_it_without_javascript(client, runtime):
    b = await _registered_without_cpf(client, runtime)
    page = await client.get("/esqueci-minha-senha/dados")
    assert 'name="no_cpf"' in page.text and 'aria-controls="cpf"' in page.text
    assert "Se você não tem CPF, marque" in page.text
    # Without JavaScript the field stays enabled; a blank CPF with the box ticked is accepted.
    step = await client.post("/esqueci-minha-senha/dados", data={
        "identifier": b.card_number, "cpf": "", "no_cpf": "on",
        "birth_date": b.birth_date.strftime("%d/%m/%Y"), "captcha": solve(runtime.settings),
        "csrf_token": csrf_of(page.text)})
    assert step.status_code == 303, step.text
    assert step.headers["location"] == "/esqueci-minha-senha/codigo?dados=1"
    assert await _codes_to(runtime, b.email) == 1
    # A refused form keeps the box ticked and the field disabled (nothing typed is lost).
    again = await client.get("/esqueci-minha-senha/dados")
    refused = await client.post("/esqueci-minha-senha/dados", data={
        "identifier": b.card_number, "cpf": "", "no_cpf": "on", "birth_date": "31/02/1950",
        "captcha": solve(runtime.settings), "csrf_token": csrf_of(again.text)})
    assert refused.status_code == 422
    box = refused.text[refused.text.index('id="no_cpf"') - 200:refused.text.index('id="no_cpf"') + 200]
    assert "checked" in box
    assert 'id="cpf"' in refused.text and "disabled" in refused.text[
        refused.text.index('id="cpf"'):refused.text.index('id="cpf"') + 300]
