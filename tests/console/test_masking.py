"""Nothing unmasked before a reason and a passing caller check; the check only says
"confere" / "não confere" and never shows what the caller must know (docs/support-desk.md › What an agent does).
"""

from __future__ import annotations

import pytest

from guarita.domain import identifiers as ids
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import support
from tests.console.helpers import (
    CTX,
    api_token,
    bearer,
    caller_data,
    events,
    person,
    post,
    quick_staff,
    session_client,
)
from tests.support.factories import format_cpf


def secrets_of(b) -> list[str]:  # noqa: ANN001
    """Every value of the person that must not appear before the check."""
    birth = b.birth_date
    return [
        b.cpf,
        format_cpf(b.cpf),
        b.card_number,
        b.email,
        "91234-567",
        "99123-4567",
        birth.strftime("%d/%m/%Y"),
        birth.isoformat(),
        "Conceição",
        "José",
    ]


@pytest.mark.parametrize("query", ["cpf", "card", "email", "phone", "name", "name_accents"])
async def test_search_finds_by_every_identifier_and_shows_masked_results(app, runtime, query):
    b = await person(runtime)
    other = await person(
        runtime,
        card="700800900",
        seed=7,
        name="João Conceição Prado",
        email="joao@example.com",
        phone="+5561988887777",
    )
    typed = {
        "cpf": format_cpf(b.cpf),
        "card": f"{b.card_number[:3]} {b.card_number[3:]}",
        "email": b.email.upper(),
        "phone": "(61) 99123-4567",
        "name": "MARIA JOSE",
        "name_accents": "conceição",
    }[query]
    agent = await quick_staff(runtime, "agent")
    async with await session_client(app, runtime, agent) as browser:
        page = await browser.get("/atendimento", params={"q": typed, "reason": "contato"})
    assert page.status_code == 200
    assert f'/atendimento/pessoas/{b.id}"' in page.text
    assert (f'pessoas/{other.id}"' in page.text) == (query == "name_accents")
    for value in secrets_of(b):
        if value.lower() not in typed.lower():  # what the agent typed is echoed in the box
            assert value not in page.text, value
    assert ids.mask_cpf(b.cpf) in page.text and ids.mask_card(b.card_number) in page.text
    assert "Maria J. da C." in page.text


async def test_name_search_needs_three_letters_and_escapes_wildcards(runtime):
    await person(runtime)
    actor = (await quick_staff(runtime, "agent")).actor()
    with pytest.raises(GuaritaError) as exc:
        await support.search(runtime, actor, "ma", CTX, kind="name")
    assert exc.value.field == "q"
    assert (await support.search(runtime, actor, "%%%", CTX, kind="name")).people == []
    assert (await support.search(runtime, actor, "mar_a", CTX, kind="name")).people == []


async def test_person_view_is_masked_until_the_caller_check_passes(app, runtime):
    b = await person(runtime)
    agent = await quick_staff(runtime, "agent")
    async with await session_client(app, runtime, agent) as browser:
        page = await browser.get(f"/atendimento/pessoas/{b.id}")
        assert page.status_code == 200
        for value in secrets_of(b):
            assert value not in page.text, value
        assert "m***@e***.com" in page.text and "Conferir" in page.text
        # Actions are closed before the check: the answer says so and shows nothing.
        early = await post(browser, f"/atendimento/pessoas/{b.id}/carteirinha", {"reason": "carteirinha"})
        assert early.status_code == 409 and b.card_number not in early.text

        # A wrong birth date: "não confere", and nothing of what was expected is shown.
        wrong = await post(
            browser,
            f"/atendimento/pessoas/{b.id}/conferencia",
            caller_data(b, birth_date="01/01/1960"),
        )
        assert wrong.status_code == 200 and "Não confere" in wrong.text
        for value in secrets_of(b):
            assert value not in wrong.text, value
        assert 'value="01/01/1960"' not in wrong.text  # the typed values are not kept either

        # No reason, no check.
        unreasoned = await post(browser, f"/atendimento/pessoas/{b.id}/conferencia", caller_data(b, reason=""))
        assert unreasoned.status_code == 422 and "Escolha o motivo" in unreasoned.text

        right = await post(browser, f"/atendimento/pessoas/{b.id}/conferencia", caller_data(b))
        assert right.status_code == 200 and "Confere." in right.text
        assert b.email in right.text and "Maria José da Conceição" in right.text
        # Still never: the full CPF, the birth date, the card (until its audited reveal).
        for value in (b.cpf, format_cpf(b.cpf), b.birth_date.strftime("%d/%m/%Y"), b.card_number):
            assert value not in right.text, value

        revealed = await post(
            browser,
            f"/atendimento/pessoas/{b.id}/carteirinha",
            {"reason": "carteirinha"},
            page=f"/atendimento/pessoas/{b.id}",
        )
        assert revealed.status_code == 200 and b.card_number in revealed.text
        again = await browser.get(f"/atendimento/pessoas/{b.id}")
        assert b.card_number not in again.text

    # Another agent's grant opens nothing for this one.
    other = await quick_staff(runtime, "agent", email="outro@example.org")
    async with await session_client(app, runtime, other) as browser:
        page = await browser.get(f"/atendimento/pessoas/{b.id}")
        assert b.email not in page.text and "Conferir" in page.text


async def test_the_check_accepts_cpf_or_card_and_needs_all_given_to_match(runtime):
    b = await person(runtime)
    actor = (await quick_staff(runtime, "agent")).actor()
    reason = support.parse_reason("carteirinha", None)

    async def check(**kw):  # noqa: ANN003, ANN202
        data = {"birth_date": b.birth_date.isoformat(), "cpf": None, "card_number": None} | kw
        return await support.caller_check(runtime, actor, b.id, reason=reason, context=CTX, **data)

    assert (await check(cpf=b.cpf)).passed
    assert (await check(card_number=b.card_number)).passed
    assert (await check(cpf=b.cpf, card_number=b.card_number)).passed
    assert not (await check(cpf=b.cpf, card_number="999888777")).passed
    with pytest.raises(GuaritaError) as exc:
        await check()  # the birth date alone is not enough
    assert exc.value.field == "cpf"
    with pytest.raises(GuaritaError) as exc:
        await check(cpf="111.111.111-11")  # a malformed CPF is a format error, not a mismatch
    assert exc.value.code is ErrorCode.INVALID_CPF


async def test_five_mismatches_in_an_hour_stop_the_checks(runtime):
    b = await person(runtime)
    actor = (await quick_staff(runtime, "agent")).actor()
    reason = support.parse_reason("carteirinha", None)
    for left in (4, 3, 2, 1, 0):
        result = await support.caller_check(
            runtime,
            actor,
            b.id,
            reason=reason,
            context=CTX,
            birth_date="1960-01-01",
            cpf=b.cpf,
            card_number=None,
        )
        assert not result.passed and result.checks_left == left
    with pytest.raises(GuaritaError) as exc:
        # Even the right data: the desk must wait (guessing birth dates is what this stops).
        await support.caller_check(
            runtime,
            actor,
            b.id,
            reason=reason,
            context=CTX,
            birth_date=b.birth_date.isoformat(),
            cpf=b.cpf,
            card_number=None,
        )
    assert exc.value.code is ErrorCode.TOO_MANY_ATTEMPTS
    outcomes = [e.details["outcome"] for e in await events(runtime, AuditTag.SUPPORT_CALLER_CHECKED)]
    assert outcomes == ["nao_confere"] * 5 + ["blocked"]


async def test_api_masks_until_the_check_and_answers_only_confere(client, runtime):
    b = await person(runtime)
    token = await api_token(runtime, "search,view,caller_check,reveal_card")
    found = await client.get(
        "/api/v1/support/people", params={"q": b.cpf, "reason": "contato"}, headers=bearer(token)
    )
    assert found.status_code == 200
    [summary] = found.json()["people"]
    assert summary["cpf"] == ids.mask_cpf(b.cpf) and summary["card"] == ids.mask_card(b.card_number)
    view = await client.get(f"/api/v1/support/people/{b.id}", headers=bearer(token))
    body = view.text
    for value in secrets_of(b):
        assert value not in body, value
    assert view.json()["unmasked"] is False and view.json()["audit"] == []

    check = await client.post(
        f"/api/v1/support/people/{b.id}/caller-checks",
        headers=bearer(token),
        json={"reason": "carteirinha", "birth_date": "1949-03-04", "cpf": b.cpf},
    )
    assert check.status_code == 200
    assert check.json() == {
        "result": "nao_confere",
        "passed": False,
        "grant_expires_at": None,
        "checks_left": 4,
    }
    closed = await client.post(
        f"/api/v1/support/people/{b.id}/card-reveals",
        headers=bearer(token),
        json={"reason": "carteirinha"},
    )
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "caller_check_required"

    check = await client.post(
        f"/api/v1/support/people/{b.id}/caller-checks",
        headers=bearer(token),
        json={"reason": "carteirinha", "birth_date": "04/03/1950", "card_number": b.card_number},
    )
    assert check.json()["result"] == "confere" and check.json()["grant_expires_at"]
    opened = (await client.get(f"/api/v1/support/people/{b.id}", headers=bearer(token))).json()
    assert opened["unmasked"] is True and opened["name"] == "Maria José da Conceição"
    assert any(i["display"] == b.email for i in opened["identifiers"])
    assert b.cpf not in str(opened) and b.card_number not in str(opened)
    card = await client.post(
        f"/api/v1/support/people/{b.id}/card-reveals",
        headers=bearer(token),
        json={"reason": "carteirinha"},
    )
    assert card.json() == {"card_number": b.card_number}
