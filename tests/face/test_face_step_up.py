"""Validação facial on "Para continuar, confirme sua identidade" (docs/trust-levels.md ›
Step-up): offered when the person has a trusted face, the capture page's script endpoints
answer JSON bound to the signed-in account and the ticket, a pass records face evidence and
leads back to the step-up page, a stranger's face or a replay is refused plainly."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from guarita.services import face_references, step_up
from guarita.storage.tables import IdentityEvidence
from tests.face.helpers import person_with_face
from tests.oidc.support import add_client, authorize, pkce, query_of, sign_in
from tests.support import faces
from tests.support.html import csrf_of

PRATA = "urn:guarita:loa:prata"


@pytest.fixture
def settings_overrides() -> dict:
    return {"recovery": {"methods": ["email", "sms", "face"]}}


async def person_seen_at_an_agency(client, runtime, photo: str = "astronaut"):  # noqa: ANN001, ANN201
    """A person whose reference face was captured in person (the desk's capture after a
    document check): a face validation against it makes prata (docs/trust-levels.md)."""
    b = await person_with_face(client, runtime, photo=None)
    data = faces.jpeg(faces.PHOTOS[photo]())
    descriptor = await face_references.template_from_photo(runtime, data)
    async with runtime.db.transaction() as session:
        await face_references.put_reference(session, runtime, b.id, descriptor, data, "in_person")
    return b


async def _ticket(client, runtime, b) -> str:  # noqa: ANN001
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    _, challenge = pkce()
    response = await authorize(client, c, challenge, acr_values=PRATA)
    assert response.headers["location"].startswith("/confirmar-identidade?pedido=")
    return query_of(response.headers["location"])["pedido"]


async def _film(client, ticket: str, csrf: str, who: str):  # noqa: ANN001, ANN202
    made = await client.post("/confirmar-identidade/rosto/desafio", params={"pedido": ticket},
                             data={"csrf_token": csrf})
    assert made.status_code == 200, made.text
    challenge = made.json()
    frames = faces.movement_frames(who, challenge["movements"])
    files = [("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]
    return await client.post("/confirmar-identidade/rosto", params={"pedido": ticket},
                             data={"challenge_id": challenge["challenge_id"], "csrf_token": csrf},
                             files=files), frames, challenge


async def test_face_pass_records_evidence_and_returns_to_the_request(client, runtime):
    b = await person_seen_at_an_agency(client, runtime)
    ticket = await _ticket(client, runtime, b)
    page = await client.get(step_up.page_url(ticket))
    assert "Pelo seu rosto" in page.text and "/confirmar-identidade/rosto?pedido=" in page.text
    capture = await client.get("/confirmar-identidade/rosto", params={"pedido": ticket})
    assert capture.status_code == 200 and "Ligar a câmera e começar" in capture.text
    assert capture.headers["permissions-policy"].startswith("camera=(self)")
    assert f'data-submit-url="/confirmar-identidade/rosto?pedido={ticket}"' in capture.text
    answer, frames, challenge = await _film(client, ticket, csrf_of(capture.text), "astronaut")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"next": step_up.page_url(ticket, after=True)}
    async with runtime.db.read() as session:
        evidence = (await session.execute(select(IdentityEvidence).where(
            IdentityEvidence.kind == "face"))).scalars().all()
    assert [(e.kind, e.source, e.liveness) for e in evidence] == [("face", "in_person", True)]
    # The same frames again, with a new challenge of the same movements: a replay, refused.
    files = [("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]
    spent = await client.post("/confirmar-identidade/rosto", params={"pedido": ticket},
                              data={"challenge_id": challenge["challenge_id"],
                                    "csrf_token": csrf_of(capture.text)}, files=files)
    assert spent.status_code == 400 and "O desafio venceu" in spent.json()["error"]["message"]
    # Back on the page the level is met: the way back to the authorization request.
    back = await client.get(answer.json()["next"])
    assert back.status_code == 303
    assert back.headers["location"].startswith("/oauth/authorize/resume?interaction=")
    done = await client.get(back.headers["location"])
    assert "code" in query_of(done.headers["location"])


async def test_a_strangers_face_is_refused_plainly(client, runtime):
    b = await person_seen_at_an_agency(client, runtime)
    ticket = await _ticket(client, runtime, b)
    capture = await client.get("/confirmar-identidade/rosto", params={"pedido": ticket})
    answer, _, _ = await _film(client, ticket, csrf_of(capture.text), "grace")
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "face_not_matched"
    assert "outra forma de confirmar sua identidade" in error["message"]
    async with runtime.db.read() as session:
        assert (await session.execute(select(IdentityEvidence).where(
            IdentityEvidence.kind == "face"))).first() is None


async def test_no_trusted_face_no_face_button(client, runtime):
    b = await person_with_face(client, runtime, photo=None)
    ticket = await _ticket(client, runtime, b)
    page = await client.get(step_up.page_url(ticket))
    assert "Pelo seu rosto" not in page.text and "Vá a uma agência" in page.text
    capture = await client.get("/confirmar-identidade/rosto", params={"pedido": ticket})
    assert capture.status_code == 303 and capture.headers["location"] == step_up.page_url(ticket)
    made = await client.post("/confirmar-identidade/rosto/desafio", params={"pedido": ticket},
                             data={"csrf_token": csrf_of(page.text)})
    assert made.status_code == 422 and made.json()["error"]["code"] == "method_unavailable"


async def test_a_registry_photo_does_not_make_prata_so_it_is_not_offered(client, runtime):
    """The registry's photo was never checked against a document: a match with it is not
    prata (docs/trust-levels.md › Defaults), so the page does not offer what cannot help."""
    b = await person_with_face(client, runtime)
    ticket = await _ticket(client, runtime, b)
    page = await client.get(step_up.page_url(ticket))
    assert "Pelo seu rosto" not in page.text


async def test_the_face_pages_need_the_ticket_of_the_signed_in_account(client, runtime):
    b = await person_seen_at_an_agency(client, runtime)
    await _ticket(client, runtime, b)
    capture = await client.get("/confirmar-identidade/rosto", params={"pedido": "forjado"})
    assert capture.status_code == 410
    made = await client.post("/confirmar-identidade/rosto/desafio", params={"pedido": "forjado"},
                             data={"csrf_token": csrf_of((await client.get("/conta")).text)})
    assert made.status_code == 410 and made.json()["error"]["code"] == "flow_expired"


async def test_agency_check_and_face_capture_then_a_live_face_make_ouro(client, runtime):
    """A service asks ouro: after the agency's document check and a face captured there, the
    step-up offers the face (not a bank), and a live face against that photo makes ouro — the
    ID token says so."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from guarita.services import support
    from guarita.services.support import face_reference
    from tests.console.helpers import CTX, quick_staff
    from tests.oidc.support import exchange

    b = await person_with_face(client, runtime, photo=None)
    member = await quick_staff(runtime, "supervisor")
    actor = member.actor()
    reason = support.parse_reason("presencial", None)
    checked = await support.caller_check(runtime, actor, b.id, reason=reason, context=CTX,
                                         birth_date=b.birth_date.isoformat(), cpf=b.cpf,
                                         card_number=None)
    assert checked.passed
    await support.record_identity_check(runtime, actor, b.id, document_type="cnh",
                                        document_number="0123.456.789-0", reason=reason,
                                        context=CTX)
    await face_reference.capture_reference(runtime, actor, b.id,
                                           faces.jpeg(faces.astronaut()), reason, CTX)
    c = await add_client(runtime)
    await sign_in(client, b.card_number)
    verifier, challenge = pkce()
    response = await authorize(client, c, challenge, acr_values="urn:guarita:loa:ouro")
    ticket = query_of(response.headers["location"])["pedido"]
    page = await client.get(step_up.page_url(ticket))
    assert "nível Ouro. A sua está no nível Prata" in page.text
    assert "Pelo seu rosto" in page.text and "Pelo seu banco" not in page.text
    capture = await client.get("/confirmar-identidade/rosto", params={"pedido": ticket})
    answer, _, _ = await _film(client, ticket, csrf_of(capture.text), "astronaut")
    assert answer.status_code == 200, answer.text
    back = await client.get(answer.json()["next"])
    done = await client.get(back.headers["location"])
    code = query_of(done.headers["location"])["code"]
    token = (await exchange(client, c, code, verifier)).json()["id_token"]
    keys = KeySet.import_key_set((await client.get("/oauth/jwks")).json())
    assert jwt.decode(token, keys, algorithms=["RS256"]).claims["acr"] == "urn:guarita:loa:ouro"
