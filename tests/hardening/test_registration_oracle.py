"""Registration no longer confirms leaked data, and it asks for the captcha (SECURITY.md ›
Account enumeration).

The attack: card + CPF + birth date (leaked together in payroll-loan scams) typed into the
registration answered "Você já tem cadastro" (409 ``already_registered``) for a real
beneficiary with an account and "não encontramos" otherwise, so the form told which leaked
records are live accounts — in bulk, since it had no captcha. Now the answer is the mismatch's,
"você já tem uma conta" goes to the account's own verified contacts (the person proves the
contact by reading it), and the form and the API need the ALTCHA captcha recovery uses.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from guarita.storage.tables import OutboxMessage
from tests.support.captcha import solve
from tests.support.factories import add_beneficiary, format_cpf
from tests.support.html import csrf_of

STRONG = "uma frase bem comprida para lembrar"


def body(runtime, b, **changes) -> dict:  # noqa: ANN001, ANN003
    values = {"card_number": b.card_number, "cpf": format_cpf(b.cpf),
              "birth_date": b.birth_date.strftime("%d/%m/%Y"), "password": STRONG,
              "password_confirmation": STRONG, "captcha": solve(runtime.settings)}
    values.update(changes)
    return values


async def _told(runtime) -> list[OutboxMessage]:  # noqa: ANN001
    async with runtime.db.read() as session:
        return list((await session.execute(
            select(OutboxMessage).where(OutboxMessage.template == "account_exists")
        )).scalars())


async def test_registering_an_existing_account_answers_like_wrong_data(runtime, client):
    b = await add_beneficiary(runtime)
    assert (await client.post("/api/v1/registrations", json=body(runtime, b))).status_code == 201
    existing = await client.post("/api/v1/registrations", json=body(runtime, b))
    other = await add_beneficiary(runtime, card="555666777", seed=5, email="o@example.org")
    mismatch = await client.post(
        "/api/v1/registrations", json=body(runtime, other, birth_date="01/01/1961")
    )
    assert (existing.status_code, existing.json()) == (mismatch.status_code, mismatch.json())
    assert existing.json()["error"]["code"] == "beneficiary_not_matched"
    # Instead, the person is told where only they can read it: their verified contacts.
    told = await _told(runtime)
    assert {m.to for m in told} == {b.email, b.phone}
    assert all("já tem uma conta" in m.text or "já tem conta" in m.text for m in told)
    assert "/esqueci-minha-senha" in next(m.text for m in told if m.to == b.email)


async def test_the_notice_is_sent_at_most_three_times_a_day(runtime, client):
    b = await add_beneficiary(runtime, phone=None)
    assert (await client.post("/api/v1/registrations", json=body(runtime, b))).status_code == 201
    for _ in range(5):
        again = await client.post("/api/v1/registrations", json=body(runtime, b))
        assert again.json()["error"]["code"] == "beneficiary_not_matched"
    assert len(await _told(runtime)) == 3


async def test_the_page_answers_alike_too(runtime, client):
    b = await add_beneficiary(runtime)
    assert (await client.post("/api/v1/registrations", json=body(runtime, b))).status_code == 201
    client.cookies.clear()

    async def submit(**changes) -> tuple[int, str]:  # noqa: ANN003
        page = await client.get("/cadastro")
        form = {**body(runtime, b, **changes), "cpf": b.cpf, "csrf_token": csrf_of(page.text)}
        answer = await client.post("/cadastro", data=form)
        text = re.sub(r'value="[^"]*"', "", answer.text)  # the typed values are echoed back
        text = re.sub(r'name="csrf_token"[^>]*', "", text)
        return answer.status_code, re.sub(r"\s+", " ", text)

    existing = await submit()
    wrong = await submit(birth_date="01/01/1961")
    assert existing[0] == wrong[0] == 422
    assert existing[1] == wrong[1]
    assert "Esqueci minha senha" in existing[1]


async def test_without_the_captcha_nothing_is_checked(runtime, client):
    """The bulk check of leaked records needs one proof of work per try: without it the data
    are not even looked at (no notice, no account)."""
    b = await add_beneficiary(runtime)
    for captcha in (None, "", "bm90IGEgc29sdXRpb24="):
        refused = await client.post("/api/v1/registrations",
                                    json=body(runtime, b, captcha=captcha))
        assert refused.status_code == 400
        assert refused.json()["error"] == {
            "code": "captcha_invalid", "field": "captcha",
            "message": refused.json()["error"]["message"],
        }
    page = await client.get("/cadastro")
    assert "<altcha-widget" in page.text and 'name="captcha"' in page.text
    answer = await client.post("/cadastro", data={
        **body(runtime, b, captcha=""), "cpf": b.cpf, "csrf_token": csrf_of(page.text),
    })
    assert answer.status_code == 400 and 'id="captcha-error"' in answer.text
    assert (await client.post("/api/v1/registrations", json=body(runtime, b))).status_code == 201
