"""Correction and deletion requests (docs/privacy.md › Pedidos): the person files one, the
desk's supervisors see the queue and decide with a reason, the person is told; an approved
deletion erases the account — face template first — the person can no longer sign in, and the
audit chain still verifies."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from guarita.domain.audit_tags import AuditTag
from guarita.storage.audit import verify
from guarita.storage.oidc_tables import OidcGrant
from guarita.storage.privacy_tables import Erasure, PrivacyRequest
from guarita.storage.support_tables import SupportCallerCheck
from guarita.storage.tables import (
    Account,
    AccountIdentifier,
    AuditEvent,
    Beneficiary,
    Credential,
    FaceReference,
    IdentityEvidence,
    OutboxMessage,
)
from guarita.storage.tables import Session as SessionRow
from guarita.storage.types import utcnow
from tests.console.helpers import post, quick_staff, session_client
from tests.oidc.support import csrf_of, person, sign_in
from tests.support.factories import STRONG

QUEUE = "/atendimento/pedidos-lgpd"


async def _file(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = await client.get("/conta/meus-dados")
    return await client.post("/conta/meus-dados/pedidos", data={**fields, "csrf_token": csrf_of(page.text)})


async def _only_request(runtime) -> PrivacyRequest:  # noqa: ANN001
    async with runtime.db.read() as session:
        return (await session.execute(select(PrivacyRequest))).scalar_one()


async def _count(runtime, table, *where) -> int:  # noqa: ANN001
    async with runtime.db.read() as session:
        return (await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


async def test_deletion_request_to_erasure(runtime, client, app):
    b = await person(runtime)
    account_id = b.account_id
    async with runtime.db.transaction() as session:
        session.add(FaceReference(beneficiary_id=b.id, source="registry", template=b"sealed template",
                                  photo_digest="0" * 64, photo=b"sealed photo"))
        session.add(SupportCallerCheck(actor="staff:1", beneficiary_id=b.id, passed=True,
                                       reason="presencial", created_at=utcnow(), expires_at=utcnow()))
    assert (await sign_in(client, b.card_number)).status_code == 303

    # the person files it: a reason is required, one open request at a time
    empty = await _file(client, kind="deletion", reason="  ")
    assert empty.status_code == 422
    assert 'id="reason-error"' in empty.text and "por que quer excluir" in empty.text
    filed = await _file(client, kind="deletion", reason="Não uso mais o serviço.")
    assert filed.status_code == 303 and "pedido-registrado=1" in filed.headers["location"]
    page = await client.get("/conta/meus-dados")
    assert "Pedido registrado" not in page.text  # the notice is on the redirect target only
    assert 'data-status="open"' in page.text and "em análise" in page.text
    again = await _file(client, kind="deletion", reason="de novo")
    assert again.status_code == 409 and "já tem um pedido deste tipo" in again.text
    assert (await _file(client, kind="correction", what="O CPF tem um dígito trocado.")).status_code == 303

    # the queue: supervisors only
    agent = await session_client(app, runtime, await quick_staff(runtime, "agent"))
    assert (await agent.get(QUEUE)).status_code == 403
    supervisor = await session_client(app, runtime, await quick_staff(runtime, "supervisor"))
    queue = await supervisor.get(QUEUE)
    assert queue.status_code == 200
    assert "Maria José da Conceição" in queue.text and "Não uso mais o serviço." in queue.text
    async with runtime.db.read() as session:
        request = (await session.execute(select(PrivacyRequest).where(
            PrivacyRequest.kind == "deletion"))).scalar_one()
    no_reason = await post(supervisor, f"{QUEUE}/{request.id}", {"decision": "approved", "decision_reason": ""},
                           page=QUEUE)
    assert no_reason.status_code == 422
    assert f'id="decision-reason-{request.id}-error"' in no_reason.text
    assert await _count(runtime, Account, Account.id == account_id) == 1  # nothing happened yet

    decided = await post(supervisor, f"{QUEUE}/{request.id}",
                         {"decision": "approved", "decision_reason": "Pedido conferido por telefone."}, page=QUEUE)
    assert decided.status_code == 303 and decided.headers["location"].endswith("feito=excluida")
    twice = await post(supervisor, f"{QUEUE}/{request.id}",
                       {"decision": "approved", "decision_reason": "de novo"}, page=QUEUE)
    assert twice.status_code == 409 and "já foi decidido" in twice.text

    # gone: the face template first of all, then every personal row
    assert await _count(runtime, FaceReference, FaceReference.beneficiary_id == b.id) == 0
    assert await _count(runtime, Account, Account.id == account_id) == 0
    assert await _count(runtime, Beneficiary, Beneficiary.id == b.id) == 0
    assert await _count(runtime, Credential, Credential.account_id == account_id) == 0
    assert await _count(runtime, AccountIdentifier, AccountIdentifier.account_id == account_id) == 0
    assert await _count(runtime, IdentityEvidence, IdentityEvidence.account_id == account_id) == 0
    assert await _count(runtime, SessionRow, SessionRow.account_id == account_id) == 0
    assert await _count(runtime, OidcGrant, OidcGrant.account_id == account_id) == 0
    assert await _count(runtime, SupportCallerCheck, SupportCallerCheck.beneficiary_id == b.id) == 0
    assert await _count(runtime, OutboxMessage, OutboxMessage.account_id == account_id) == 0
    async with runtime.db.read() as session:
        kept = {r.kind: r for r in (await session.execute(select(PrivacyRequest))).scalars()}
    assert kept["deletion"].status == "approved" and kept["deletion"].reason is None
    assert kept["deletion"].decision_reason == "Pedido conferido por telefone."
    # the correction still open has nothing left to act on, and none of her text stays
    assert kept["correction"].status == "closed" and kept["correction"].what is None
    assert "Nenhum pedido esperando decisão." in (await supervisor.get(QUEUE)).text
    assert await _count(runtime, Erasure, Erasure.account_id == account_id) == 1

    # the person is told, at the contact the account had
    async with runtime.db.read() as session:
        told = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.template == "privacy_request_decided"))).scalars().all()
    assert sorted(m.to for m in told) == ["+5561991234567", "maria@example.com"]
    email = next(m for m in told if m.channel == "email")
    assert "excluímos sua conta" in email.text and "Pedido conferido por telefone." in email.text
    assert all(m.account_id is None for m in told)

    # signed out everywhere and cannot sign in again
    assert (await client.get("/conta")).status_code == 303
    refused = await client.post("/api/v1/sessions", json={"identifier": b.card_number, "password": STRONG})
    assert refused.status_code == 401

    # the audit trail stays as it was (its subject resolves to no one) and still verifies
    assert await _count(runtime, AuditEvent, AuditEvent.subject == account_id) >= 4
    assert await _count(runtime, AuditEvent, AuditEvent.tag == AuditTag.ACCOUNT_ERASED) == 1
    async with runtime.db.read() as session:
        report = await verify(session)
    assert report.ok, report.reason
    for c in (agent, supervisor):
        await c.aclose()


async def test_correction_refused_with_a_reason_the_person_reads(runtime, client, app):
    b = await person(runtime)
    assert (await sign_in(client, b.card_number)).status_code == 303
    missing = await _file(client, kind="correction", what="")
    assert missing.status_code == 422 and 'id="what-error"' in missing.text
    assert (await _file(client, kind="correction",
                        what="Meu nome está sem acento; o certo é Conceição.")).status_code == 303
    supervisor = await session_client(app, runtime, await quick_staff(runtime, "supervisor"))
    request = await _only_request(runtime)
    assert request.what == "Meu nome está sem acento; o certo é Conceição."
    no_choice = await post(supervisor, f"{QUEUE}/{request.id}", {"decision_reason": "x"}, page=QUEUE)
    assert no_choice.status_code == 422 and f'id="decision-{request.id}-error"' in no_choice.text
    done = await post(supervisor, f"{QUEUE}/{request.id}",
                      {"decision": "rejected", "decision_reason": "O cadastro já tem o acento."}, page=QUEUE)
    assert done.status_code == 303 and done.headers["location"].endswith("feito=rejected")
    page = await client.get("/conta/meus-dados")
    assert 'data-status="rejected"' in page.text and "O cadastro já tem o acento." in page.text
    async with runtime.db.read() as session:
        told = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.template == "privacy_request_decided"))).scalars().all()
    assert {m.to for m in told} == {"maria@example.com", "+5561991234567"}
    email = next(m for m in told if m.channel == "email")
    assert email.account_id == b.account_id and "recusado" in email.text
    assert "O cadastro já tem o acento." in email.text
    assert await _count(runtime, Account, Account.id == b.account_id) == 1  # nothing erased
    queue = await supervisor.get(QUEUE)
    assert "Nenhum pedido esperando decisão." in queue.text and "O cadastro já tem o acento." in queue.text
    await supervisor.aclose()


async def test_requests_through_the_api(runtime, client):
    b = await person(runtime)
    token = (await client.post("/api/v1/sessions", json={"identifier": b.card_number,
                                                        "password": STRONG})).json()["session_token"]
    auth = {"Authorization": f"Bearer {token}"}
    made = await client.post("/api/v1/me/data/requests", headers=auth,
                             json={"kind": "correction", "what": "CPF com um dígito trocado"})
    assert made.status_code == 201 and made.json()["status"] == "open"
    bad = await client.post("/api/v1/me/data/requests", headers=auth, json={"kind": "deletion"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "reason"
    again = await client.post("/api/v1/me/data/requests", headers=auth,
                              json={"kind": "correction", "what": "outra"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "privacy_request_open"
    listed = await client.get("/api/v1/me/data/requests", headers=auth)
    assert [r["kind"] for r in listed.json()] == ["correction"]
    assert (await client.get("/api/v1/me/data/requests")).status_code == 401


async def test_the_queue_link_is_only_for_supervisors(runtime, app):
    agent = await session_client(app, runtime, await quick_staff(runtime, "agent"))
    supervisor = await session_client(app, runtime, await quick_staff(runtime, "supervisor"))
    assert QUEUE not in (await agent.get("/atendimento")).text
    assert re.search(r'href="/atendimento/pedidos-lgpd"', (await supervisor.get("/atendimento")).text)
    for c in (agent, supervisor):
        await c.aclose()
