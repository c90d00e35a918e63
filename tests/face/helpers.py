"""Shared steps of the facial validation tests: a registered person with a reference face, a
recovery that reached the face step, frames sent as the app sends them."""

from __future__ import annotations

from typing import Any

from guarita.services import face_references
from tests.support import faces
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary

FACE_SETTINGS: dict[str, Any] = {}


async def person_with_face(client, runtime, photo: str | None = "astronaut", *,  # noqa: ANN001
                           card: str = "100200300", seed: int = 1, register: bool = True):
    b = await add_beneficiary(runtime, card=card, seed=seed)
    if photo is not None:
        data = faces.jpeg(faces.PHOTOS[photo]())
        descriptor = await face_references.template_from_photo(runtime, data)
        async with runtime.db.transaction() as session:
            await face_references.put_reference(session, runtime, b.id, descriptor, data,
                                                "registry")
    if register:
        response = await client.post("/api/v1/registrations", json={
            "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
            "password": STRONG, "password_confirmation": STRONG,
            "captcha": solve(runtime.settings)})
        assert response.status_code == 201, response.text
    return b


async def recovery_for(client, runtime, identifier: str) -> str:  # noqa: ANN001
    started = await client.post("/api/v1/recoveries", json={"identifier": identifier,
                                                             "captcha": solve(runtime.settings)})
    assert started.status_code == 201, started.text
    assert "face" in [m["id"] for m in started.json()["methods"]]
    return started.json()["recovery_id"]


async def new_challenge(client, rid: str) -> dict:  # noqa: ANN001
    response = await client.post(f"/api/v1/recoveries/{rid}/face/challenges")
    assert response.status_code == 201, response.text
    return response.json()


async def send(client, rid: str, challenge_id: str, frames: list[bytes]):  # noqa: ANN001, ANN201
    files = [("frames", (f"f{i}.jpg", frame, "image/jpeg")) for i, frame in enumerate(frames)]
    return await client.post(f"/api/v1/recoveries/{rid}/face", data={"challenge_id": challenge_id},
                             files=files)
