"""Validação facial as the pages serve it: the method page leads to the guided capture page, the
page's script endpoints answer JSON with the flow in its cookie, a pass leads to the new
password, a refusal offers the human review."""

from __future__ import annotations

import pytest

from tests.face.helpers import person_with_face
from tests.support import faces
from tests.support.captcha import solve
from tests.support.html import csrf_of, submit


@pytest.fixture
def settings_overrides() -> dict:
    return {"recovery": {"methods": ["email", "sms", "face"]}}


async def _to_capture_page(client, runtime, identifier: str):  # noqa: ANN001, ANN202
    await submit(client, "/esqueci-minha-senha", {"identifier": identifier,
                                                  "captcha": solve(runtime.settings)})
    method_page = await client.get("/esqueci-minha-senha/metodo")
    assert "Validação facial (selfie)" in method_page.text
    step = await client.post("/esqueci-minha-senha/metodo",
                             data={"method": "face", "csrf_token": csrf_of(method_page.text)})
    assert step.headers["location"] == "/esqueci-minha-senha/rosto"
    page = await client.get("/esqueci-minha-senha/rosto")
    assert page.status_code == 200
    return page


async def test_capture_page_pass_and_new_password(client, runtime):
    b = await person_with_face(client, runtime)
    page = await _to_capture_page(client, runtime, b.card_number)
    text = page.text
    assert "Permitir" in text and "Ligar a câmera e começar" in text
    assert 'src="/static/js/face-capture.js"' in text and "<script>" not in text
    assert 'aria-live="assertive"' in text
    assert page.headers["permissions-policy"].startswith("camera=(self)")
    csrf = csrf_of(text)
    no_csrf = await client.post("/esqueci-minha-senha/rosto/desafio", data={})
    assert no_csrf.status_code == 403
    challenge = (await client.post("/esqueci-minha-senha/rosto/desafio",
                                   data={"csrf_token": csrf})).json()
    frames = faces.movement_frames("astronaut", challenge["movements"], seed=11)
    files = [("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]
    answer = await client.post("/esqueci-minha-senha/rosto", files=files,
                               data={"csrf_token": csrf, "challenge_id": challenge["challenge_id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"next": "/esqueci-minha-senha/nova-senha"}
    password_page = await client.get("/esqueci-minha-senha/nova-senha")
    assert password_page.status_code == 200 and 'name="password"' in password_page.text


async def test_refusal_then_human_review(client, runtime):
    b = await person_with_face(client, runtime, "grace")
    page = await _to_capture_page(client, runtime, b.card_number)
    csrf = csrf_of(page.text)
    challenge = (await client.post("/esqueci-minha-senha/rosto/desafio",
                                   data={"csrf_token": csrf})).json()
    frames = faces.movement_frames("astronaut", challenge["movements"], seed=12)
    files = [("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]
    answer = await client.post("/esqueci-minha-senha/rosto", files=files,
                               data={"csrf_token": csrf, "challenge_id": challenge["challenge_id"]})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "face_not_matched"
    reviewed = await client.post("/esqueci-minha-senha/rosto/revisao", data={"csrf_token": csrf})
    assert reviewed.status_code == 200 and "Pedido de revisão registrado" in reviewed.text
