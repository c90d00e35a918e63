"""The support desk end to end over HTTP (docs/support-desk.md): an agent added with ``staff add`` enrols, signs in
with TOTP, finds a demo beneficiary by CPF, passes the caller check, tells them their card number,
registers their e-mail (the code read from the outbox as the beneficiary would), and the
beneficiary then signs in with that e-mail; a supervisor sees the dashboard; and the same through
the support API."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import time_machine

from guarita.domain.audit_tags import AuditTag
from guarita.services import staff as staff_service
from guarita.services.demo import DEMO_LEGACY_PASSWORD, demo_people, load_demo
from guarita.services.login import sign_in
from guarita.storage.audit import verify
from guarita.storage.types import utcnow
from tests.console.helpers import (
    CTX,
    STAFF_PASSWORD,
    api_token,
    bearer,
    events,
    last_code,
    proof_code,
    quick_staff,
    session_client,
)
from tests.support.factories import format_cpf
from tests.support.html import csrf_of

NEW_EMAIL = "luzia.ribeiro@example.org"


def luzia():  # noqa: ANN201
    """The demo's legacy person with a phone and no e-mail ("meu e-mail está cadastrado?")."""
    return next(p for p in demo_people() if p.name == "Luzia de Fátima Ribeiro")


async def test_console_journey(app, runtime, client, tmp_path):
    await load_demo(runtime, directory=tmp_path)
    target = luzia()

    # 1. Enrolment from the link `guarita staff add` prints.
    enrolment = await staff_service.add_staff(
        runtime,
        email="ana@atendimento.example.org",
        name="Ana Atendente",
        role="agent",
        created_by="cli:ops",
        context=CTX,
    )
    link = enrolment.link.removeprefix("http://testserver")
    page = await client.get(link)
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    done = await client.post(
        "/atendimento/ativar",
        data={
            "token": link.split("token=")[1],
            "password": STAFF_PASSWORD,
            "password_confirmation": STAFF_PASSWORD,
            "code": pyotp.TOTP(secret).now(),
            "csrf_token": csrf_of(page.text),
        },
    )
    assert done.status_code == 200 and "Guarde agora" in done.text
    client.cookies.clear()

    later = utcnow() + timedelta(seconds=45)
    with time_machine.travel(later, tick=True):
        # 2. Sign-in with password and TOTP.
        form = await client.get("/atendimento/entrar")
        signed = await client.post(
            "/atendimento/entrar",
            data={
                "email": "ana@atendimento.example.org",
                "password": STAFF_PASSWORD,
                "code": pyotp.TOTP(secret).now(),
                "csrf_token": csrf_of(form.text),
            },
        )
        assert signed.status_code == 303, signed.text

        # 3. Search by CPF (as the caller says it, with punctuation).
        found = await client.get(
            "/atendimento", params={"q": format_cpf(target.cpf), "reason": "contato"}
        )
        person_id = int(re.search(r'/atendimento/pessoas/(\d+)"', found.text).group(1))
        person_url = f"/atendimento/pessoas/{person_id}"
        assert target.cpf not in found.text and target.card_number not in found.text

        # 4. Caller check: birth date and CPF as the caller says them.
        view = await client.get(person_url)
        checked = await client.post(
            f"{person_url}/conferencia",
            data={
                "reason": "contato",
                "reason_text": "quer cadastrar e-mail",
                "birth_date": target.birth_date.strftime("%d/%m/%Y"),
                "cpf": target.cpf,
                "card_number": "",
                "csrf_token": csrf_of(view.text),
            },
        )
        assert "Confere." in checked.text

        # 5. Tell them their card number (audited).
        revealed = await client.post(
            f"{person_url}/carteirinha",
            data={"reason": "carteirinha", "csrf_token": csrf_of(checked.text)},
        )
        assert target.card_number in revealed.text

        # 6. Register the e-mail: a code goes to it; the caller reads it back.
        started = await client.post(
            f"{person_url}/contatos",
            data={
                "kind": "email",
                "contact_value": NEW_EMAIL,
                "reason": "contato",
                "csrf_token": csrf_of(revealed.text),
            },
        )
        assert started.status_code == 303, started.text
        code_page = await client.get(started.headers["location"])
        assert "l***@e***.org" in code_page.text
        code = await last_code(runtime, NEW_EMAIL)
        assert code not in code_page.text
        # The account had a verified contact: it got a code too, which the caller reads back.
        assert "Código enviado a" in code_page.text
        proof = await proof_code(runtime)
        without_proof = await client.post(
            started.headers["location"],
            data={"code": code, "csrf_token": csrf_of(code_page.text)},
        )
        assert without_proof.status_code == 422
        wrong = await client.post(
            started.headers["location"],
            data={
                "code": "000000" if code != "000000" else "111111",
                "proof_code": proof,
                "csrf_token": csrf_of(without_proof.text),
            },
        )
        assert wrong.status_code == 400 and "Restam 4" in wrong.text
        confirmed = await client.post(
            started.headers["location"],
            data={"code": code, "proof_code": proof, "csrf_token": csrf_of(wrong.text)},
        )
        assert confirmed.status_code == 303 and confirmed.headers["location"].endswith("feito=contato")
        after = await client.get(confirmed.headers["location"])
        assert "Contato confirmado" in after.text and NEW_EMAIL in after.text

    # 7. The beneficiary signs in with that e-mail (and the old portal password).
    result = await sign_in(runtime, NEW_EMAIL, DEMO_LEGACY_PASSWORD, CTX)
    assert result.account_id

    # 8. A supervisor sees the dashboard, with the agent's actions.
    supervisor = await quick_staff(runtime, "supervisor")
    async with await session_client(app, runtime, supervisor) as browser:
        board = await browser.get("/atendimento/painel")
    assert board.status_code == 200
    assert board.text.count('<svg class="chart') >= 7 and "Ana Atendente" in board.text
    main = board.text.split("<main", 1)[1]
    assert "style=" not in main and "<script" not in main.split("</main>")[0]

    for tag in (
        AuditTag.SUPPORT_CALLER_CHECKED,
        AuditTag.SUPPORT_CARD_REVEALED,
        AuditTag.SUPPORT_CONTACT_CODE_SENT,
        AuditTag.SUPPORT_CONTACT_CODE_FAILED,
        AuditTag.SUPPORT_CONTACT_CONFIRMED,
        AuditTag.SUPPORT_EMAIL_REGISTERED,
    ):
        found_events = await events(runtime, tag)
        assert found_events and all(e.actor == f"staff:{enrolment.staff.id}" for e in found_events), tag
    async with runtime.db.transaction() as session:
        assert (await verify(session)).ok


async def test_api_journey(client, runtime, tmp_path):
    await load_demo(runtime, directory=tmp_path)
    target = luzia()
    token = await api_token(runtime, "search,view,caller_check,reveal_card,contacts,unlock,recovery")
    headers = bearer(token, agent="operadora 42")

    found = await client.get(
        "/api/v1/support/people", params={"q": target.cpf, "kind": "cpf", "reason": "contato"},
        headers=headers,
    )
    [summary] = found.json()["people"]
    pid = summary["id"]
    assert summary["state"] == "legacy"
    check = await client.post(
        f"/api/v1/support/people/{pid}/caller-checks",
        headers=headers,
        json={
            "reason": "contato",
            "birth_date": target.birth_date.isoformat(),
            "cpf": format_cpf(target.cpf),
        },
    )
    assert check.json()["result"] == "confere"
    card = await client.post(
        f"/api/v1/support/people/{pid}/card-reveals",
        headers=headers,
        json={"reason": "carteirinha"},
    )
    assert card.json()["card_number"] == target.card_number

    bad = await client.post(
        f"/api/v1/support/people/{pid}/contact-changes",
        headers=headers,
        json={"kind": "email", "value": "sem arroba", "reason": "contato"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_email"
    started = await client.post(
        f"/api/v1/support/people/{pid}/contact-changes",
        headers=headers,
        json={"kind": "email", "value": NEW_EMAIL, "reason": "contato"},
    )
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["destination"] == "l***@e***.org"
    code = await last_code(runtime, NEW_EMAIL)
    assert code not in started.text
    assert body["proof"] == "existing_contact" and body["proof_destination"]
    confirmed = await client.post(
        f"/api/v1/support/people/{pid}/contact-changes/{body['id']}/confirmation",
        headers=headers,
        json={"code": code, "proof_code": await proof_code(runtime)},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["verified"] is True and confirmed.json()["login_enabled"] is True
    replay = await client.post(
        f"/api/v1/support/people/{pid}/contact-changes/{body['id']}/confirmation",
        headers=headers,
        json={"code": code, "proof_code": "000000"},
    )
    assert replay.status_code == 410

    assert (await sign_in(runtime, NEW_EMAIL, DEMO_LEGACY_PASSWORD, CTX)).account_id

    # The dashboard needs its own scope; a supervisor-level token gets it.
    assert (await client.get("/api/v1/support/dashboard", headers=headers)).status_code == 403
    board_token = await api_token(runtime, "dashboard", name="BI")
    board = await client.get("/api/v1/support/dashboard", headers=bearer(board_token))
    assert board.status_code == 200
    data = board.json()
    assert len(data["days"]) == 30 and sum(data["series"]["registrations"]) == 0
    [agent] = data["actions_per_agent"]
    assert agent["name"] == "API: CRM" and agent["total"] >= 3

    [revealed] = await events(runtime, AuditTag.SUPPORT_CARD_REVEALED)
    assert revealed.details["via"] == "api" and revealed.details["crm_agent"] == "operadora 42"
    async with runtime.db.transaction() as session:
        assert (await verify(session)).ok
