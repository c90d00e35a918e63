"""The desk's page for a person's reference face (docs/face.md › Reference photos), as a browser
posts it: the supervisor saves the photo (the camera's picture and a chosen file arrive alike,
as the multipart ``photo`` field) only after the in-person document check; an agent cannot;
the desk deletes it on the person's request (LGPD art. 18 VI); a refusal the person asked a
human to review (LGPD art. 20) shows on the person page and links from the dashboard."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Account, FaceReference, IdentityEvidence
from tests.console.helpers import caller_data, events, person, post, quick_staff, session_client
from tests.support import faces
from tests.support.html import csrf_of


@pytest.fixture
def settings_overrides() -> dict:
    return {"recovery": {"methods": ["email", "sms", "face"]}}


async def _references(runtime) -> list[FaceReference]:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        return list((await session.execute(select(FaceReference))).scalars())


async def _send_photo(browser, person_id: int, photo: bytes, **fields):  # noqa: ANN001, ANN003, ANN202
    page = await browser.get(f"/atendimento/pessoas/{person_id}")
    data = {"reason": "presencial", "reason_text": "", "csrf_token": csrf_of(page.text), **fields}
    return await browser.post(f"/atendimento/pessoas/{person_id}/rosto", data=data,
                              files={"photo": ("foto.jpg", photo, "image/jpeg")})


async def test_supervisor_saves_the_photo_after_the_document_check_then_deletes_it(app, runtime):
    b = await person(runtime)
    supervisor = await quick_staff(runtime, "supervisor")
    path = f"/atendimento/pessoas/{b.id}"
    async with await session_client(app, runtime, supervisor) as browser:
        masked = await browser.get(path)
        assert "data-desk-face" not in masked.text  # nothing about faces before the caller check
        opened = await post(browser, f"{path}/conferencia", caller_data(b, reason="presencial"), page=path)
        assert "Não há referência facial guardada" in opened.text
        assert 'enctype="multipart/form-data"' in opened.text and 'name="photo"' in opened.text
        assert "/static/js/desk-face.js" in opened.text
        # The camera is allowed on this page only (every other page keeps camera=()).
        assert "camera=(self)" in opened.headers["permissions-policy"]
        assert "camera=()" in (await browser.get("/atendimento")).headers["permissions-policy"]

        refused = await _send_photo(browser, b.id, faces.jpeg(faces.grace()))
        assert refused.status_code == 409 and "conferência presencial" in refused.text
        assert await _references(runtime) == []

        await post(browser, f"{path}/documento", {"reason": "presencial", "reason_text": "",
                                                  "document_type": "cnh",
                                                  "document_number": "0123.456.789-0"}, page=path)
        no_face = await _send_photo(browser, b.id, faces.jpeg(faces.grace()[:50, :50].copy()))
        assert no_face.status_code == 422
        section = no_face.text[no_face.text.index('id="acao-rosto"'):]
        assert "br-message danger" in section[:section.index('name="photo"')], section[:2000]
        no_csrf = await browser.post(f"{path}/rosto", data={"reason": "presencial"},
                                     files={"photo": ("foto.jpg", faces.jpeg(faces.grace()), "image/jpeg")})
        assert no_csrf.status_code == 403
        saved = await _send_photo(browser, b.id, faces.png(faces.grace()))  # a chosen PNG file
        assert saved.status_code == 303 and saved.headers["location"].endswith("?feito=rosto-guardado")
        page = await browser.get(saved.headers["location"])
        assert "Foto de referência guardada" in page.text
        assert "Há uma referência facial guardada (foto tirada na agência" in page.text
        assert "Atendimento: foto de referência guardada" in page.text
        stored = await _references(runtime)
        assert [(r.source, r.photo) for r in stored] == [("in_person", None)]  # no photo kept
        # The document check is evidence recorded by this supervisor (prata); the photo is a
        # reference, not a validation: ouro waits for the person's face, alive, against it.
        async with runtime.db.read() as session:
            proofs = [(e.kind, e.source, e.recorded_by) for e in (await session.execute(
                select(IdentityEvidence).order_by(IdentityEvidence.id))).scalars()]
            level = (await session.execute(select(Account.trust_level))).scalar_one()
        assert proofs[-1] == ("in_person_document", "cnh", f"staff:{supervisor.id}")
        assert level == "prata"

        again = await _send_photo(browser, b.id, faces.jpeg(faces.grace()))
        assert again.headers["location"].endswith("?feito=rosto-trocado")

        deleted = await post(browser, f"{path}/rosto/apagar",
                             {"reason": "outro", "reason_text": "A pessoa pediu para apagar o rosto"},
                             page=path)
        assert deleted.headers["location"].endswith("?feito=rosto-apagado")
        assert await _references(runtime) == []
        assert "Não há referência facial guardada" in (await browser.get(path)).text
    outcomes = [e.details["outcome"] for e in await events(runtime, AuditTag.SUPPORT_FACE_CAPTURED)]
    assert outcomes == ["refused", "refused", "created", "replaced"]
    assert [e.details["outcome"] for e in await events(runtime, AuditTag.SUPPORT_FACE_DELETED)] == ["deleted"]


async def test_an_agent_cannot_save_a_photo(app, runtime):
    b = await person(runtime)
    agent = await quick_staff(runtime, "agent")
    path = f"/atendimento/pessoas/{b.id}"
    async with await session_client(app, runtime, agent) as browser:
        opened = await post(browser, f"{path}/conferencia", caller_data(b), page=path)
        assert f'action="/atendimento/pessoas/{b.id}/rosto"' not in opened.text
        forbidden = await _send_photo(browser, b.id, faces.jpeg(faces.grace()))
        assert forbidden.status_code == 403
    assert await _references(runtime) == []


async def test_a_review_request_shows_on_the_person_page_and_links_from_the_dashboard(app, runtime):
    b = await person(runtime)
    supervisor = await quick_staff(runtime, "supervisor")
    async with runtime.db.transaction() as session:
        account_id = (await session.execute(
            select(Account.id).where(Account.beneficiary_id == b.id))).scalar_one()
        context = RequestContext(ip="198.51.100.7")
        await record(session, AuditTag.FACE_FAILED, subject=account_id, context=context,
                     details={"during": "recovery", "outcome": "not_matched", "source": "registry"})
        await record(session, AuditTag.FACE_REVIEW_REQUESTED, subject=account_id,
                     context=context, details={"during": "recovery", "attempts": 1})
    path = f"/atendimento/pessoas/{b.id}"
    async with await session_client(app, runtime, supervisor) as browser:
        board = await browser.get("/atendimento/painel")
        assert f'href="{path}"' in board.text
        opened = await post(browser, f"{path}/conferencia", caller_data(b), page=path)
        assert "revise a recusa automática" in opened.text
        refusals = opened.text[opened.text.index("Últimas validações faciais"):]
        assert "Validação facial recusada" in refusals
        assert "o rosto não confere com a referência" in refusals
        assert re.search(r"Pediu revisão humana da recusa facial", refusals)
