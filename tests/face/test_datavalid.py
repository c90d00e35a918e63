"""The SERPRO Datavalid adapter against a loopback server speaking the ``pf-facial`` contract:
match, no match, photo not available (DV040), token reuse and renewal, timeouts failing closed
within a bounded time."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.methods.face_datavalid import DatavalidClient, DatavalidError
from guarita.storage.tables import IdentityEvidence
from tests.face.helpers import new_challenge, person_with_face, recovery_for, send
from tests.support import faces
from tests.support.datavalid import KEY, SECRET, FakeDatavalid
from tests.support.factories import format_cpf

# Every account has its registry match from registration; these tests look at the rest.
PROOFS = IdentityEvidence.kind != "registry_match"


@pytest.fixture
def fake():
    with FakeDatavalid() as server:
        yield server


@pytest.fixture
def settings_overrides(fake) -> dict:
    return {"recovery": {"methods": ["email", "sms", "face"]}, "face": fake.settings()}


def _client(fake: FakeDatavalid, timeout: float = 5.0) -> DatavalidClient:
    return DatavalidClient(token_url=fake.url + "/token", url=fake.url + "/datavalid/v4/pf-facial",
                           consumer_key=KEY, consumer_secret=SECRET, timeout=timeout)


async def test_match_no_match_and_photo_not_available(fake):
    client = _client(fake)
    fake.answers = {"11111111111": 0.97, "22222222222": 0.31, "33333333333": "DV040"}
    jpeg = faces.jpeg(faces.grace())
    yes = await client.compare("11111111111", jpeg)
    assert (yes.available, yes.similarity, yes.probability) == (True, 0.97, "Altíssima probabilidade")
    no = await client.compare("22222222222", jpeg)
    assert no.similarity == 0.31
    with pytest.raises(DatavalidError) as missing:
        await client.compare("33333333333", jpeg)
    assert missing.value.code == "DV040"
    assert fake.token_requests == 1  # the token is reused until it expires
    assert fake.requests[0]["validacao"]["biometria_face"]  # base64 of the selfie
    fake.expire_tokens()  # the gateway answers 401: a new token, then the same request again
    assert (await client.compare("11111111111", jpeg)).similarity == 0.97
    assert fake.token_requests == 2


async def test_timeouts_fail_closed_within_the_bound(fake):
    fake.answers = {"44444444444": "hang"}
    began = time.monotonic()
    with pytest.raises(GuaritaError) as error:
        await _client(fake, timeout=1.0).compare("44444444444", faces.jpeg(faces.grace()))
    assert error.value.code is ErrorCode.SERVICE_UNAVAILABLE
    assert time.monotonic() - began < 3


async def test_wrong_credentials_and_a_dead_service_fail_closed(fake):
    bad = DatavalidClient(token_url=fake.url + "/token", url=fake.url + "/datavalid/v4/pf-facial",
                          consumer_key=KEY, consumer_secret="errado", timeout=2)
    with pytest.raises(GuaritaError) as error:
        await bad.compare("11111111111", faces.jpeg(faces.grace()))
    assert error.value.code is ErrorCode.SERVICE_UNAVAILABLE
    dead = DatavalidClient(token_url="http://127.0.0.1:9/token", url="http://127.0.0.1:9/x",
                           consumer_key=KEY, consumer_secret=SECRET, timeout=2)
    with pytest.raises(GuaritaError):
        await dead.compare("11111111111", faces.jpeg(faces.grace()))


async def test_recovery_with_datavalid_records_its_evidence(client, runtime, fake):
    b = await person_with_face(client, runtime, photo=None)
    fake.answers = {b.cpf: 0.96}
    rid = await recovery_for(client, runtime, format_cpf(b.cpf))
    challenge = await new_challenge(client, rid)
    ok = await send(client, rid, challenge["challenge_id"],
                    faces.movement_frames("astronaut", challenge["movements"]))
    assert ok.status_code == 200, ok.text
    assert fake.requests[-1]["cpf"] == b.cpf
    async with runtime.db.transaction() as session:
        evidence = (await session.execute(select(IdentityEvidence).where(PROOFS))).scalars().all()
    assert [(e.kind, e.source) for e in evidence] == [("face", "datavalid")]


async def test_recovery_with_datavalid_refusals(client, runtime, fake):
    b = await person_with_face(client, runtime, photo=None)
    fake.answers = {b.cpf: "DV040"}
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    frames = faces.movement_frames("astronaut", challenge["movements"], seed=5)
    refused = await send(client, rid, challenge["challenge_id"], frames)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "face_not_matched"
    fake.answers = {b.cpf: "hang"}
    runtime.settings.face.datavalid_timeout_seconds = 1.0
    challenge = await new_challenge(client, rid)
    frames = faces.movement_frames("astronaut", challenge["movements"], seed=6)
    began = time.monotonic()
    down = await send(client, rid, challenge["challenge_id"], frames)
    assert down.status_code == 503 and down.json()["error"]["code"] == "service_unavailable"
    assert time.monotonic() - began < 30
