"""The takeover through the desk with CPF + birth date (SECURITY.md › Recovery).

The attack the review reproduced: a caller who knows a victim's CPF and birth date (they leak in
every payroll-loan scam) passes the caller check, has the agent register the caller's own
e-mail, reads the code back from their own inbox, and recovers the password by that e-mail;
the victim's phone heard nothing. Now:

- a contact added to an account that already has a verified contact needs a code sent to one
  of those contacts too (or a supervisor's in-person check);
- every verified contact is told at once, with the "Não foi você?" lock link;
- a contact added without an existing contact's proof cannot receive recovery codes during the
  cooling-off (72 h), and recovery by it sends nothing in that window.

Through the support API (the same rules hold on the console pages, which call the same service).
"""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from guarita.domain.contact_trust import ContactProof
from guarita.services import contacts, recovery
from guarita.storage.audit import RequestContext
from guarita.storage.tables import AccountIdentifier, OutboxMessage
from guarita.storage.types import utcnow
from tests.console.helpers import api_token, bearer, last_code
from tests.oidc.support import person
from tests.support.captcha import solve
from tests.support.factories import format_cpf
from tests.support.html import csrf_of, submit

CTX = RequestContext(ip="198.51.100.77", user_agent="pytest")
ATTACKER = "golpista@example.net"
NEW = "outra frase nova para a conta toda"


async def _desk(runtime, client, b, scopes="caller_check,contacts"):  # noqa: ANN001, ANN202
    headers = bearer(await api_token(runtime, scopes), agent="atendente 12")
    check = await client.post(
        f"/api/v1/support/people/{b.id}/caller-checks", headers=headers,
        json={"reason": "contato", "birth_date": b.birth_date.isoformat(),
              "cpf": format_cpf(b.cpf)},
    )
    assert check.json()["result"] == "confere", check.text  # leaked data passes the check
    return headers


async def _messages(runtime, to: str) -> list[OutboxMessage]:  # noqa: ANN001
    async with runtime.db.read() as session:
        return list(
            (await session.execute(
                select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id)
            )).scalars()
        )


async def _attacker_recovers(runtime) -> bool:  # noqa: ANN001
    """Starts a recovery by the attacker's e-mail; True when a code reached the attacker."""
    before = len(await _messages(runtime, ATTACKER))
    flow = await recovery.start(runtime, ATTACKER, solve(runtime.settings), CTX)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    after = await _messages(runtime, ATTACKER)
    if len(after) == before:
        return False
    code = re.search(r"\b(\d{6})\b", after[-1].text).group(1)
    verified = await recovery.submit_code(runtime, flow.recovery_id, code, CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)
    return True


async def test_leaked_cpf_and_birth_date_no_longer_take_over_an_account(runtime, client):
    victim = await person(runtime)  # registry e-mail and phone, verified
    headers = await _desk(runtime, client, victim)
    started = await client.post(
        f"/api/v1/support/people/{victim.id}/contact-changes", headers=headers,
        json={"kind": "email", "value": ATTACKER, "reason": "contato"},
    )
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["proof"] == "existing_contact" and body["proof_destination"]
    # The victim's own contact got a code that says what it is for.
    [proof_message] = [m for m in await _messages(runtime, victim.email)
                       if m.template == "contact_proof"]
    assert "NÃO informe este código" in proof_message.text

    confirm = f"/api/v1/support/people/{victim.id}/contact-changes/{body['id']}/confirmation"
    own_code = await last_code(runtime, ATTACKER)
    refused = await client.post(confirm, headers=headers, json={"code": own_code})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "contact_proof_required"
    guessed = await client.post(
        confirm, headers=headers, json={"code": own_code, "proof_code": "000000"}
    )
    assert guessed.json()["error"]["code"] in ("invalid_code", "too_many_attempts")

    async with runtime.db.read() as session:
        saved = (await session.execute(
            select(AccountIdentifier).where(AccountIdentifier.value == ATTACKER)
        )).scalar_one_or_none()
    assert saved is None
    assert not await _attacker_recovers(runtime)


async def test_the_new_contact_cannot_confirm_a_desk_change_by_itself(runtime, client):
    """The variant a review found: the desk's change also e-mailed the new address a
    "Confirmar este contato" link, and following it saved the contact with the existing
    contact's proof recorded (no cooling-off) before any such proof came back."""
    victim = await person(runtime)
    headers = await _desk(runtime, client, victim)
    started = await client.post(
        f"/api/v1/support/people/{victim.id}/contact-changes", headers=headers,
        json={"kind": "email", "value": ATTACKER, "reason": "contato"},
    )
    assert started.status_code == 202, started.text
    [message] = [m for m in await _messages(runtime, ATTACKER) if m.template == "contact_code"]
    assert "/confirmar-contato" not in message.text  # only the code, read back to the agent

    # Even with a desk flow's own token and code, the link's door refuses it.
    flow = await contacts.start_verification(
        runtime, victim.account_id, "email", ATTACKER, source="support", context=CTX,
        proof=ContactProof.EXISTING_CONTACT)
    code = await last_code(runtime, ATTACKER)
    page = await client.get("/confirmar-contato")
    answer = await client.post("/confirmar-contato", data={
        "token": flow.id, "code": code, "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 410, answer.text
    async with runtime.db.read() as session:
        saved = (await session.execute(
            select(AccountIdentifier).where(AccountIdentifier.value == ATTACKER)
        )).scalar_one_or_none()
    assert saved is None
    assert not await _attacker_recovers(runtime)


async def test_with_the_existing_contacts_code_the_change_goes_through_and_all_are_told(
    runtime, client
):
    b = await person(runtime)
    headers = await _desk(runtime, client, b)
    started = (await client.post(
        f"/api/v1/support/people/{b.id}/contact-changes", headers=headers,
        json={"kind": "email", "value": "maria.nova@example.org", "reason": "contato"},
    )).json()
    proof_code = await last_code(runtime, b.email)
    code = await last_code(runtime, "maria.nova@example.org")
    saved = await client.post(
        f"/api/v1/support/people/{b.id}/contact-changes/{started['id']}/confirmation",
        headers=headers, json={"code": code, "proof_code": proof_code},
    )
    assert saved.status_code == 200, saved.text
    # The replaced e-mail and the phone are both told, each with a lock link.
    for to, template in ((b.email, "contact_replaced"), (b.phone, "contact_added")):
        [told] = [m for m in await _messages(runtime, to) if m.template == template]
        assert "/nao-fui-eu?token=" in told.text
    # Proven by an existing contact: no cooling-off, recovery by the new e-mail works at once.
    async with runtime.db.read() as session:
        row = (await session.execute(select(AccountIdentifier).where(
            AccountIdentifier.value == "maria.nova@example.org"))).scalar_one()
    assert row.recovery_allowed_after is None


async def test_a_first_contact_from_the_caller_check_waits_out_the_cooling_off(runtime, client):
    """An account without any verified contact: the caller check and the new contact's code
    suffice, but the new contact receives no recovery code for 72 h."""
    b = await person(runtime, email=None, phone=None, card="300400500", seed=9)
    headers = await _desk(runtime, client, b)
    started = (await client.post(
        f"/api/v1/support/people/{b.id}/contact-changes", headers=headers,
        json={"kind": "email", "value": ATTACKER, "reason": "contato"},
    )).json()
    assert started["proof"] == "caller_check" and started["proof_destination"] is None
    saved = await client.post(
        f"/api/v1/support/people/{b.id}/contact-changes/{started['id']}/confirmation",
        headers=headers, json={"code": await last_code(runtime, ATTACKER)},
    )
    assert saved.status_code == 200, saved.text
    assert not await _attacker_recovers(runtime)  # nothing is sent in the window
    hours = runtime.settings.recovery.new_contact_cooling_off_hours
    with time_machine.travel(utcnow() + timedelta(hours=hours, minutes=1)):
        assert await _attacker_recovers(runtime)  # after the cooling-off, it is a contact


async def test_a_supervisors_in_person_check_replaces_the_existing_contacts_proof(
    runtime, client
):
    b = await person(runtime)
    headers = await _desk(runtime, client, b, "caller_check,contacts,identity_check")
    checked = await client.post(
        f"/api/v1/support/people/{b.id}/identity-checks", headers=headers,
        json={"reason": "contato", "document_type": "rg", "document_number": "12345678"},
    )
    assert checked.status_code in (200, 201), checked.text
    started = (await client.post(
        f"/api/v1/support/people/{b.id}/contact-changes", headers=headers,
        json={"kind": "phone", "value": "+5561988887777", "reason": "contato"},
    )).json()
    assert started["proof"] == "in_person"
    saved = await client.post(
        f"/api/v1/support/people/{b.id}/contact-changes/{started['id']}/confirmation",
        headers=headers, json={"code": await last_code(runtime, "+5561988887777")},
    )
    assert saved.status_code == 200, saved.text
    [told] = [m for m in await _messages(runtime, b.email) if m.template == "contact_added"]
    assert "/nao-fui-eu?token=" in told.text
    async with runtime.db.read() as session:
        row = (await session.execute(select(AccountIdentifier).where(
            AccountIdentifier.value == "+5561988887777"))).scalar_one()
    assert row.recovery_allowed_after is not None  # cooling-off: not proven by a contact


async def test_recovery_in_the_cooling_off_offers_the_older_contacts_the_central_and_an_agency(
    runtime, client
):
    """A phone the desk put in place of the registry's (in-person check, so no existing
    contact's code) cannot receive a recovery code for 72 h; the e-mail the account already
    had still can, and every step says how to reach the central or an agency."""
    b = await person(runtime)
    headers = await _desk(runtime, client, b, "caller_check,contacts,identity_check,view")
    await client.post(
        f"/api/v1/support/people/{b.id}/identity-checks", headers=headers,
        json={"reason": "contato", "document_type": "rg", "document_number": "12345678"},
    )
    new_phone = "+5561977776666"
    started = (await client.post(
        f"/api/v1/support/people/{b.id}/contact-changes", headers=headers,
        json={"kind": "phone", "value": new_phone, "reason": "contato"},
    )).json()
    saved = await client.post(
        f"/api/v1/support/people/{b.id}/contact-changes/{started['id']}/confirmation",
        headers=headers, json={"code": await last_code(runtime, new_phone)},
    )
    assert saved.status_code == 200, saved.text

    flow = await recovery.start(runtime, b.email, solve(runtime.settings), CTX)
    sent_before = len(await _messages(runtime, new_phone))
    await recovery.request_code(runtime, flow.recovery_id, "sms", CTX)
    assert len(await _messages(runtime, new_phone)) == sent_before  # the new phone waits
    # (the flow answered exactly as if a code had gone: a second flow for the e-mail)
    flow = await recovery.start(runtime, b.email, solve(runtime.settings), CTX)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    [code_message] = [m for m in await _messages(runtime, b.email)
                      if m.template.startswith("recovery")]
    assert re.search(r"\b\d{6}\b", code_message.text)  # the older contact still works

    page = await submit(client, "/esqueci-minha-senha",
                        {"identifier": b.email, "captcha": solve(runtime.settings)})
    assert page.status_code == 303
    method_page = (await client.get("/esqueci-minha-senha/metodo")).text
    help_box = method_page[method_page.index('class="no-code-help"'):]
    assert 'href="tel:' in help_box and "agência" in help_box

    # The desk's recovery offers only the contacts that may receive codes now.
    view = await client.get(f"/api/v1/support/people/{b.id}", headers=headers)
    assert view.status_code == 200, view.text
    offered = {c["kind"] for c in view.json().get("recovery_contacts", [])}
    assert offered == {"email"}, view.text
