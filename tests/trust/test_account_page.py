"""Minha conta › Nível da conta (docs/trust-levels.md › Minha conta): after the desk's document
check and a photo taken at the agency, a prata person is offered the face to reach ouro, and the
button leads to "Para continuar, confirme sua identidade"; a lowering is explained in plain
words; an ouro person is offered nothing more."""

from __future__ import annotations

import re

import pytest

from guarita.domain.evidence import EvidenceKind
from guarita.services import support
from guarita.services.support import face_reference
from tests.console.helpers import CTX
from tests.console.test_actions import account_of, opened
from tests.support import faces
from tests.support.factories import STRONG
from tests.support.html import csrf_of, submit
from tests.trust.test_evidence_service import _desk_change, add


@pytest.fixture
def settings_overrides() -> dict:
    return {"recovery": {"methods": ["email", "sms", "face"]}}


def _section(html: str) -> str:
    return re.search(r'<section class="account-section" aria-labelledby="nivel">(.*?)</section>',
                     html, re.S).group(1)


async def _page(client, b) -> str:  # noqa: ANN001
    signed = await submit(client, "/entrar", {"identifier": b.card_number, "password": STRONG})
    assert signed.status_code == 303, signed.text
    page = await client.get("/conta")
    assert page.status_code == 200
    return page.text


async def test_after_the_agency_the_face_is_the_way_to_ouro(client, runtime):
    b, _, supervisor = await opened(runtime, "supervisor")
    reason = support.parse_reason("presencial", None)
    await support.record_identity_check(runtime, supervisor, b.id, document_type="rg",
                                        document_number="12.345.678-9", reason=reason,
                                        context=CTX)
    await face_reference.capture_reference(runtime, supervisor, b.id,
                                           faces.jpeg(faces.astronaut()), reason, CTX)
    html = await _page(client, b)
    level = _section(html)
    assert "Nível da conta: Prata" in level and "Como chegar ao nível Ouro" in level
    assert 'data-way="face"' in level and "Validar pelo rosto" in level
    raised = await client.post("/conta/nivel", data={"csrf_token": csrf_of(html)})
    assert raised.status_code == 303
    assert raised.headers["location"].startswith("/confirmar-identidade?pedido=")
    step = await client.get(raised.headers["location"])
    assert step.status_code == 200 and "confirme sua identidade" in step.text.lower()


async def test_a_registry_photo_is_not_offered_and_ouro_offers_nothing_more(client, runtime):
    from guarita.services import face_references

    b, _, _ = await opened(runtime)
    data = faces.jpeg(faces.astronaut())
    descriptor = await face_references.template_from_photo(runtime, data)
    async with runtime.db.transaction() as session:
        await face_references.put_reference(session, runtime, b.id, descriptor, data, "registry")
    html = await _page(client, b)
    assert 'data-way="face"' not in _section(html)  # a registry photo raises nothing
    await add(runtime, (await account_of(runtime, b)).id, EvidenceKind.GOVBR, level="gold")
    level = _section((await client.get("/conta")).text)
    assert "Nível da conta: Ouro" in level and "O nível mais alto" in level
    assert "Como chegar" not in level and 'data-way=' not in level
    refused = await client.post("/conta/nivel", data={"csrf_token": csrf_of(html)})
    assert refused.status_code == 303 and refused.headers["location"] == "/conta#nivel"


async def test_a_lowering_is_explained(client, runtime):
    b, _, actor = await opened(runtime)
    await add(runtime, (await account_of(runtime, b)).id, EvidenceKind.BANK, source="itau")
    await _desk_change(runtime, actor, b, proven_in_person=False)
    level = _section(await _page(client, b))
    assert "Nível da conta: Bronze" in level
    assert "o nível da sua conta baixou depois de uma troca de e-mail ou celular" in level
