"""The fraud guard (docs/fraud-guard.md), on every storage backend: each trigger (a completed
recovery, a desk contact change, a sign-in from a new device on a new network) holds the changes
that could lock the owner out, refuses each of them with ``account_on_hold``, tells the contacts
the account had before with the "Não foi você?" link, shows ``guarita_hold_until`` to relying
parties, lifts early with strong evidence and ends by itself."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.services import (
    account,
    contacts,
    guard,
    passkeys,
    privacy_requests,
    recovery,
    second_factors,
    support,
    trust,
)
from guarita.services.login import sign_in
from guarita.storage.audit import RequestContext, verify
from guarita.storage.tables import Account, AuditEvent, OutboxMessage
from guarita.storage.types import utcnow
from tests.accounts.test_login import legacy
from tests.console.helpers import last_code, proof_code, quick_staff
from tests.console.test_actions import opened
from tests.oidc.support import add_client, person, tokens_for
from tests.oidc.support import sign_in as page_sign_in
from tests.oidc.test_consent import answer, consent_page
from tests.support.captcha import solve
from tests.support.factories import STRONG

CTX = RequestContext(ip="198.51.100.9", user_agent="pytest")
NEW = "outra frase nova para a conta toda"
ANDROID = ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0.0.0 Mobile Safari/537.36")
WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0")


async def recovered(runtime, b, *, by: str = "email") -> None:  # noqa: ANN001
    """Esqueci minha senha by a code to the e-mail, as anyone holding the mailbox could."""
    flow = await recovery.start(runtime, b.card_number, solve(runtime.settings), CTX)
    await recovery.request_code(runtime, flow.recovery_id, by, CTX)
    code = await last_code(runtime, b.email if by == "email" else b.phone)
    verified = await recovery.submit_code(runtime, flow.recovery_id, code, CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)


async def account_row(runtime, account_id: str) -> Account:  # noqa: ANN001
    async with runtime.db.read() as session:
        return await session.get(Account, account_id)


async def sent(runtime, template: str) -> list[OutboxMessage]:  # noqa: ANN001
    async with runtime.db.read() as session:
        return list((await session.execute(
            select(OutboxMessage).where(OutboxMessage.template == template)
            .order_by(OutboxMessage.id))).scalars())


async def tagged(runtime, tag: AuditTag) -> list[AuditEvent]:  # noqa: ANN001
    async with runtime.db.read() as session:
        return list((await session.execute(
            select(AuditEvent).where(AuditEvent.tag == tag.value).order_by(AuditEvent.id))).scalars())


def assert_held(error: pytest.ExceptionInfo, action: str) -> None:
    assert error.value.code is ErrorCode.ACCOUNT_ON_HOLD and error.value.status == 423
    assert error.value.details["action"] == action
    assert "Por segurança, esta mudança está bloqueada até" in error.value.message
    assert "confirme sua identidade" in error.value.message


# -- triggers ------------------------------------------------------------------------------------
async def test_a_recovery_holds_for_24_hours_and_tells_the_old_contacts(runtime):
    b = await person(runtime)
    before = utcnow()
    await recovered(runtime, b)
    row = await account_row(runtime, b.account_id)
    until = guard.aware(row.hold_until)
    assert row.hold_reason == "recovery"
    assert timedelta(hours=23, minutes=59) < until - before < timedelta(hours=24, minutes=1)
    told = await sent(runtime, "account_hold")
    assert sorted(m.to for m in told) == sorted([b.email, b.phone])
    mail = next(m for m in told if m.to == b.email)
    assert "sua senha foi recuperada" in mail.text and "Não foi você?" in mail.text
    assert runtime.settings.local_time(until) in mail.text
    # The link in the message is the existing "Não foi você?" lock, shared with the
    # password_reset message of the same event (one link per event).
    token = re.search(r"/nao-fui-eu\?token=([\w-]+)", mail.text).group(1)
    reset = next(m for m in await sent(runtime, "password_reset") if m.to == b.email)
    assert f"token={token}" in reset.text
    assert await recovery.lock_link_valid(runtime, token)
    await recovery.lock_by_owner(runtime, token, CTX)
    assert (await account_row(runtime, b.account_id)).status == "disabled"
    placed = await tagged(runtime, AuditTag.HOLD_PLACED)
    assert [(e.details["trigger"], e.details["contacts_told"]) for e in placed] == [("recovery", 2)]
    async with runtime.db.read() as session:
        assert (await verify(session)).ok


async def test_a_desk_contact_change_holds_and_only_an_in_person_check_passes(runtime):
    b, _, actor = await opened(runtime)
    reason = support.parse_reason("contato", None)
    started = await support.start_contact_change(runtime, actor, b.id, kind="email",
                                                 value="novo.email@example.org", reason=reason,
                                                 context=CTX)
    code = await last_code(runtime, "novo.email@example.org")
    await support.confirm_contact_change(runtime, actor, b.id, started.id, code=code,
                                         proof_code=await proof_code(runtime), context=CTX)
    async with runtime.db.read() as session:
        row = (await session.execute(select(Account).where(Account.beneficiary_id == b.id))).scalar_one()
    account_id = row.id
    assert row.hold_reason == "desk_contact" and guard.active(row) is not None
    # Told: the contacts the account had before (not the new address just saved).
    told = sorted(m.to for m in await sent(runtime, "account_hold"))
    assert "novo.email@example.org" not in told and b.phone in told
    # A second change by phone is refused before any code is sent.
    with pytest.raises(GuaritaError) as refused:
        await support.start_contact_change(runtime, actor, b.id, kind="phone",
                                           value="(61) 98888-7777", reason=reason, context=CTX)
    assert_held(refused, guard.CONTACT_CHANGE)
    assert not [m for m in await sent(runtime, "contact_code") if m.to == "+5561988887777"]
    # A supervisor who sees the document in person: the evidence lifts the hold, and the change
    # goes through.
    member = await quick_staff(runtime, "supervisor", email="sup@example.org")
    sup = member.actor()
    checked = await support.caller_check(runtime, sup, b.id, reason=reason, context=CTX,
                                         birth_date=b.birth_date.isoformat(), cpf=b.cpf,
                                         card_number=None)
    assert checked.passed
    await support.record_identity_check(runtime, sup, b.id, document_type="rg",
                                        document_number="12.345.678-9", reason=reason,
                                        context=CTX)
    assert guard.active(await account_row(runtime, account_id)) is None
    lifted = await tagged(runtime, AuditTag.HOLD_LIFTED)
    assert [e.details["evidence"] for e in lifted] == ["in_person_document"]
    again = await support.start_contact_change(runtime, sup, b.id, kind="phone",
                                               value="(61) 98888-7777", reason=reason, context=CTX)
    assert again.id


NEW_DEVICE_ON = pytest.mark.parametrize("settings_overrides",
                                        [{"guard": {"new_device_hold_hours": 24}}])


@NEW_DEVICE_ON
async def test_a_sign_in_from_a_new_device_on_a_new_network_holds(runtime):
    b = await person(runtime)
    await sign_in(runtime, b.card_number, STRONG, CTX)  # the usual computer at home
    # A new phone on the home network, then the usual computer elsewhere: one is known.
    await sign_in(runtime, b.card_number, STRONG, RequestContext(ip="198.51.100.77", user_agent=ANDROID))
    await sign_in(runtime, b.card_number, STRONG, RequestContext(ip="203.0.113.5", user_agent="pytest"))
    assert (await account_row(runtime, b.account_id)).hold_until is None
    # A computer never seen, from a network never seen: held, contacts told.
    await sign_in(runtime, b.card_number, STRONG, RequestContext(ip="192.0.2.44", user_agent=WINDOWS))
    row = await account_row(runtime, b.account_id)
    assert row.hold_reason == "new_device" and guard.active(row) is not None
    assert {m.to for m in await sent(runtime, "account_hold")} == {b.email, b.phone}
    # The phone from the first sign-in is now known on every network.
    assert guard.device_label(ANDROID) != guard.device_label(WINDOWS)


@NEW_DEVICE_ON
async def test_a_network_is_new_again_after_the_configured_days(runtime):
    b = await person(runtime)
    with time_machine.travel(utcnow() - timedelta(days=91)):
        await sign_in(runtime, b.card_number, STRONG, RequestContext(ip="192.0.2.10",
                                                                     user_agent="pytest"))
    await sign_in(runtime, b.card_number, STRONG, RequestContext(ip="192.0.2.11", user_agent=ANDROID))
    assert (await account_row(runtime, b.account_id)).hold_reason == "new_device"


def test_networks_are_ipv4_24_and_ipv6_48():
    assert guard.network_of("198.51.100.9") == guard.network_of("198.51.100.250") == "198.51.100.0/24"
    assert guard.network_of("198.51.101.9") != guard.network_of("198.51.100.9")
    assert guard.network_of("2001:db8:1:2::1") == guard.network_of("2001:db8:1:ffff::9")
    assert guard.network_of("2001:db8:2::1") != guard.network_of("2001:db8:1::1")
    assert guard.network_of("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert guard.network_of("not an address") is None


@NEW_DEVICE_ON
async def test_the_first_sign_in_ever_holds_nothing(runtime):
    """An account imported from the old portal has no session to compare with."""
    b, account_id = await legacy(runtime)
    await sign_in(runtime, b.card_number, "senha antiga do portal",
                  RequestContext(ip="192.0.2.44", user_agent=WINDOWS))
    assert (await account_row(runtime, account_id)).hold_until is None


@pytest.mark.parametrize("settings_overrides", [{"guard": {"hold_hours": 0}},
                                                {"guard": {"recovery_hold_hours": 0}}])
async def test_zero_hours_turns_the_guard_off(runtime):
    b = await person(runtime)
    await recovered(runtime, b)
    assert (await account_row(runtime, b.account_id)).hold_until is None
    assert await sent(runtime, "account_hold") == []


@pytest.mark.parametrize("settings_overrides", [{"guard": {"recovery_hold_hours": 72}}])
async def test_a_trigger_has_its_own_hours(runtime):
    b = await person(runtime)
    await recovered(runtime, b)
    until = guard.aware((await account_row(runtime, b.account_id)).hold_until)
    assert timedelta(hours=71) < until - utcnow() <= timedelta(hours=72)


# -- what is refused -------------------------------------------------------------------------------
async def test_each_change_that_could_lock_the_owner_out_is_refused(runtime):
    b = await person(runtime)
    # A contact change the attacker started before the recovery finished is refused at its code.
    early = await contacts.start_verification(runtime, b.account_id, "email", "antes@example.org",
                                              context=CTX)
    early_code = await last_code(runtime, "antes@example.org")
    await recovered(runtime, b)
    current = (await sign_in(runtime, b.card_number, NEW, CTX)).session
    with pytest.raises(GuaritaError) as error:
        await contacts.confirm_verification(runtime, early.id, early_code, CTX,
                                            account_id=b.account_id)
    assert_held(error, guard.CONTACT_CHANGE)
    with pytest.raises(GuaritaError) as error:
        await contacts.start_verification(runtime, b.account_id, "phone", "(61) 97777-6666",
                                          context=CTX)
    assert_held(error, guard.CONTACT_CHANGE)
    with pytest.raises(GuaritaError) as error:
        await second_factors.start_totp(runtime, current, CTX)
    assert_held(error, guard.SECOND_FACTOR)
    with pytest.raises(GuaritaError) as error:
        await second_factors.confirm_totp(runtime, current, "x", "123456", CTX)
    assert_held(error, guard.SECOND_FACTOR)
    with pytest.raises(GuaritaError) as error:
        await second_factors.regenerate_codes(runtime, current, CTX)
    assert_held(error, guard.RECOVERY_CODES)
    with pytest.raises(GuaritaError) as error:
        await second_factors.remove_totp(runtime, current, CTX)
    assert_held(error, guard.SECOND_FACTOR)
    with pytest.raises(GuaritaError) as error:
        await passkeys.passkey_options(runtime, current, CTX)
    assert_held(error, guard.SECOND_FACTOR)
    with pytest.raises(GuaritaError) as error:
        await passkeys.register_passkey(runtime, current, {}, "chave", CTX)
    assert_held(error, guard.SECOND_FACTOR)
    with pytest.raises(GuaritaError) as error:
        await privacy_requests.file(runtime, b.account_id, "deletion", what=None,
                                    reason="quero apagar tudo", context=CTX)
    assert_held(error, guard.DELETION_REQUEST)
    # Not held: a correction request, and the signed-in person's own password change (the
    # owner who recovered must be able to secure the account; docs/fraud-guard.md).
    await privacy_requests.file(runtime, b.account_id, "correction", what="meu nome", reason=None,
                                context=CTX)
    await account.change_password(runtime, current, NEW, NEW + " mais", NEW + " mais", CTX)
    # No code went anywhere after the hold began: only the one started before it.
    assert [m.to for m in await sent(runtime, "contact_code")] == ["antes@example.org"]


async def test_the_done_when_scenario_recovery_then_an_e_mail_change(runtime, client):
    """A recovery followed by an attempt to change the e-mail shows the hold and alerts the old
    contacts."""
    b = await person(runtime)
    await recovered(runtime, b)
    alerts = await sent(runtime, "account_hold")
    assert {m.to for m in alerts} == {b.email, b.phone}
    # Minha conta says it plainly, with the way to lift it now.
    signed = await page_sign_in(client, b.card_number, NEW)
    assert signed.status_code == 303
    page = await client.get("/conta")
    assert "Por segurança, algumas mudanças estão bloqueadas até" in page.text
    assert "porque sua senha foi recuperada" in page.text
    assert 'action="/conta/liberar"' in page.text
    form = await client.get("/conta/contato?tipo=email")
    assert form.status_code == 423
    assert "esta mudança está bloqueada até" in form.text
    # In English too: the refusal is made of catalogue sentences, not one Portuguese string.
    english = await client.get("/conta/contato?tipo=email&lang=en")
    assert english.status_code == 423
    assert "this change is blocked until" in english.text
    assert "because your password was recovered" in english.text
    assert "bloqueada" not in english.text
    await client.get("/conta?lang=pt-BR")
    # The JSON API: 423 account_on_hold, until when (ISO and epoch) and why.
    session = await client.post("/api/v1/sessions", json={"identifier": b.card_number,
                                                           "password": NEW})
    token = session.json()["session_token"]
    me = (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["hold_reason"] == "recovery" and me["hold_until"]
    refused = await client.post("/api/v1/me/contacts", headers={"Authorization": f"Bearer {token}"},
                                json={"kind": "email", "value": "golpista@example.org",
                                      "password": NEW})
    assert refused.status_code == 423, refused.text
    body = refused.json()["error"]
    assert body["code"] == "account_on_hold"
    row = await account_row(runtime, b.account_id)
    assert body["hold_until_epoch"] == int(guard.aware(row.hold_until).timestamp())
    assert body["reason"] == "recovery" and body["action"] == "contact_change"
    assert not [m for m in await sent(runtime, "contact_code") if m.to == "golpista@example.org"]
    # "Confirmar minha identidade" leads to the step-up page for a fresh strong proof.
    from tests.support.html import csrf_of
    started = await client.post("/conta/liberar", data={"csrf_token": csrf_of(page.text)})
    assert started.status_code == 303
    assert started.headers["location"].startswith("/confirmar-identidade?pedido=")


async def test_a_held_account_cannot_connect_a_new_app_but_keeps_its_own(runtime, client):
    b = await person(runtime)
    known = await add_client(runtime, third_party=True, name="Farmácia",
                             scopes=["openid", "profile"])
    page, _ = await consent_page(client, known, b.card_number, scope="openid profile")
    allowed = await answer(client, page, "allow")
    assert allowed.status_code == 303 and "code=" in allowed.headers["location"]
    async with runtime.db.transaction() as session:
        await guard.place(session, runtime, b.account_id, guard.RECOVERY, context=CTX)
    newcomer = await add_client(runtime, third_party=True, name="App Novo",
                                scopes=["openid", "profile"],
                                redirect_uris=["https://novo.example.com/cb"])
    refused, _ = await consent_page(client, newcomer, b.card_number, scope="openid profile")
    assert refused.status_code == 423, refused.text
    assert "esta mudança está bloqueada até" in refused.text
    assert 'action="/oauth/authorize/consent"' not in refused.text
    # The app consented to before goes on working.
    again, _ = await consent_page(client, known, b.card_number, scope="openid profile")
    assert again.status_code == 303 and "code=" in again.headers["location"]


# -- the claim ------------------------------------------------------------------------------------
def payload(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


SCOPES = ["openid", "profile", "guarita_guard"]


async def test_the_claim_is_in_the_id_token_and_userinfo_only_while_held(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, scopes=SCOPES)
    free = await tokens_for(client, c, b.card_number, scope="openid guarita_guard")
    assert "guarita_hold_until" not in payload(free["id_token"])
    info = await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {free['access_token']}"})
    assert "guarita_hold_until" not in info.json()
    async with runtime.db.transaction() as session:
        hold = await guard.place(session, runtime, b.account_id, guard.DESK_CONTACT, context=CTX)
    held = await tokens_for(client, c, b.card_number, scope="openid guarita_guard")
    assert payload(held["id_token"])["guarita_hold_until"] == hold.epoch
    info = await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {held['access_token']}"})
    assert info.json()["guarita_hold_until"] == hold.epoch
    # Not asked for: not given, held or not.
    plain = await tokens_for(client, c, b.card_number, scope="openid profile")
    assert "guarita_hold_until" not in payload(plain["id_token"])
    info = await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {plain['access_token']}"})
    assert "guarita_hold_until" not in info.json()
    # Past the hold, the claim is gone.
    with time_machine.travel(utcnow() + timedelta(hours=25)):
        info = await client.get("/oauth/userinfo",
                                headers={"Authorization": f"Bearer {held['access_token']}"})
        assert info.status_code == 401 or "guarita_hold_until" not in info.json()
    discovery = (await client.get("/.well-known/openid-configuration")).json()
    assert "guarita_hold_until" in discovery["claims_supported"]


# -- lifting -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [EvidenceKind.BANK, EvidenceKind.FACE,
                                  EvidenceKind.IN_PERSON_DOCUMENT, EvidenceKind.GOVBR])
async def test_strong_evidence_lifts_the_hold_and_is_audited(runtime, kind):
    b = await person(runtime)
    await recovered(runtime, b)
    async with runtime.db.transaction() as session:
        await trust.record_evidence(session, runtime.settings, b.account_id,
                                    EvidenceKind.CALLER_CHECK, method="desk")
    assert guard.active(await account_row(runtime, b.account_id)) is not None  # not strong
    async with runtime.db.transaction() as session:
        await trust.record_evidence(session, runtime.settings, b.account_id, kind, method="test",
                                    source="itau", level="silver", liveness=True)
    assert guard.active(await account_row(runtime, b.account_id)) is None
    lifted = await tagged(runtime, AuditTag.HOLD_LIFTED)
    assert [(e.details["evidence"], e.details["trigger"]) for e in lifted] == [(kind.value, "recovery")]
    await contacts.start_verification(runtime, b.account_id, "email", "nova@example.org", context=CTX)
    async with runtime.db.read() as session:
        assert (await verify(session)).ok


async def test_strong_evidence_during_the_recovery_holds_nothing(runtime):
    b = await person(runtime)
    since = utcnow()
    async with runtime.db.transaction() as session:
        await trust.record_evidence(session, runtime.settings, b.account_id, EvidenceKind.FACE,
                                    method="face", source="registry", liveness=True)
        assert await guard.place(session, runtime, b.account_id, guard.RECOVERY, context=CTX,
                                 since=since) is None
    assert (await account_row(runtime, b.account_id)).hold_until is None


async def test_the_hold_ends_by_itself(runtime):
    b = await person(runtime)
    await recovered(runtime, b)
    with time_machine.travel(utcnow() + timedelta(hours=23)):
        with pytest.raises(GuaritaError):
            await contacts.start_verification(runtime, b.account_id, "email", "a@example.org",
                                              context=CTX)
    with time_machine.travel(utcnow() + timedelta(hours=24, minutes=1)):
        assert await guard.current(runtime, b.account_id) is None
        await contacts.start_verification(runtime, b.account_id, "email", "b@example.org",
                                          context=CTX)


async def test_the_api_documents_the_hold(client):
    spec = (await client.get("/openapi.json")).json()
    for path, method in (("/api/v1/me/contacts", "post"), ("/api/v1/me/second-factors/totp", "post"),
                         ("/api/v1/me/privacy-requests", "post")):
        operation = spec["paths"].get(path, {}).get(method)
        if operation is None:
            continue  # named differently: the check below covers the contacts at least
        assert "423" in operation["responses"], path
    assert "423" in spec["paths"]["/api/v1/me/contacts"]["post"]["responses"]
    me = spec["components"]["schemas"]["MeOut"]["properties"]
    assert {"hold_until", "hold_reason"} <= set(me)


async def test_the_security_page_shows_the_hold_instead_of_enrolling(runtime, client):
    from tests.support.html import csrf_of

    b = await person(runtime)
    await recovered(runtime, b)
    await page_sign_in(client, b.card_number, NEW)
    page = await client.get("/conta/seguranca")
    refused = await client.post("/conta/seguranca/autenticador",
                                data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 423
    assert "esta mudança está bloqueada até" in refused.text
    assert "otpauth://" not in refused.text
