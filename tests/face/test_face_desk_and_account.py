"""The desk and a person's reference face: a supervisor captures it after an in-person document
check (audited), the desk deletes it, the person deletes it in Minha conta; review requests are
listed for the desk."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import GuaritaError
from guarita.services import support
from guarita.services.support import face_reference
from guarita.storage.tables import FaceReference
from tests.console.helpers import CTX, events
from tests.console.test_actions import opened
from tests.face.helpers import person_with_face
from tests.support import faces
from tests.support.html import csrf_of


@pytest.fixture
def settings_overrides() -> dict:
    return {"recovery": {"methods": ["email", "sms", "face"]}}


async def _stored(runtime) -> list[FaceReference]:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        return list((await session.execute(select(FaceReference))).scalars())


async def test_supervisor_captures_after_the_document_check_and_the_desk_deletes(runtime):
    b, _, supervisor = await opened(runtime, "supervisor")
    reason = support.parse_reason("presencial", None)
    photo = faces.jpeg(faces.grace())
    with pytest.raises(GuaritaError) as before_check:
        await face_reference.capture_reference(runtime, supervisor, b.id, photo, reason, CTX)
    assert "conferência presencial" in before_check.value.message
    await support.record_identity_check(runtime, supervisor, b.id, document_type="cnh",
                                        document_number="0123.456.789-0", reason=reason,
                                        context=CTX)
    with pytest.raises(GuaritaError) as no_face:
        await face_reference.capture_reference(
            runtime, supervisor, b.id, faces.jpeg(faces.grace()[:50, :50].copy()), reason, CTX)
    assert no_face.value.code == "face_quality"
    assert await face_reference.capture_reference(runtime, supervisor, b.id, photo, reason,
                                                  CTX) == "created"
    stored = await _stored(runtime)
    assert [(r.source, r.captured_by) for r in stored] == [("in_person", supervisor.audit_id)]
    captured = await events(runtime, AuditTag.SUPPORT_FACE_CAPTURED)
    assert [e.details["outcome"] for e in captured] == ["refused", "refused", "created"]
    assert await face_reference.delete_reference(runtime, supervisor, b.id, reason,
                                                 CTX) == "deleted"
    assert await _stored(runtime) == []
    deleted = await events(runtime, AuditTag.SUPPORT_FACE_DELETED)
    assert deleted[-1].details["outcome"] == "deleted"


async def test_the_person_deletes_it_in_minha_conta(client, runtime):
    b = await person_with_face(client, runtime)
    signed = await client.post("/entrar", data={"identifier": b.card_number, "password":
                                                __import__("tests.support.factories",
                                                           fromlist=["STRONG"]).STRONG,
                                                "csrf_token": csrf_of((await client.get("/entrar")).text)})
    assert signed.status_code == 303
    page = await client.get("/conta")
    assert "Apagar o modelo do meu rosto" in page.text
    done = await client.post("/conta/rosto/apagar", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and "rosto-apagado" in done.headers["location"]
    assert await _stored(runtime) == []
    assert len(await events(runtime, AuditTag.FACE_REFERENCE_DELETED)) == 1
    after = await client.get("/conta?rosto-apagado=1")
    assert "Apagamos o modelo do seu rosto" in after.text


async def test_review_requests_are_listed_for_the_desk(client, runtime):
    from tests.face.helpers import new_challenge, recovery_for, send

    b = await person_with_face(client, runtime, "grace")
    rid = await recovery_for(client, runtime, b.card_number)
    too_early = await client.post(f"/api/v1/recoveries/{rid}/face/review")
    assert too_early.status_code == 409  # nothing was refused yet
    challenge = await new_challenge(client, rid)
    await send(client, rid, challenge["challenge_id"], [b"x"])
    assert (await client.post(f"/api/v1/recoveries/{rid}/face/review")).status_code == 202
    listed = await face_reference.review_requests(runtime)
    assert len(listed) == 1 and listed[0].account_id


async def test_dashboard_counts_facial_outcomes(client, runtime):
    from guarita.services.support import dashboard
    from tests.face.helpers import new_challenge, recovery_for, send

    b = await person_with_face(client, runtime, "grace")
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    await send(client, rid, challenge["challenge_id"], [b"x"])
    board = await dashboard.build(runtime)
    assert board.totals()["face_refused"] == 1 and board.totals()["face_verified"] == 0
    assert "face" in dashboard.RECOVERY_METHODS
