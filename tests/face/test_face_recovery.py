"""Esqueci minha senha by validação facial, through the JSON API, with the real dlib models and
faces from packages (tests/support/faces.py says how movements are synthesised)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from guarita.storage.tables import AuditEvent, FaceReference, IdentityEvidence
from tests.face.helpers import new_challenge, person_with_face, recovery_for, send
from tests.support import faces
from tests.support.factories import format_cpf

# Every account has its registry match from registration; these tests look at the rest.
PROOFS = IdentityEvidence.kind != "registry_match"

NEW = "outra frase nova para a conta"


@pytest.fixture
def settings_overrides() -> dict:
    return {"recovery": {"methods": ["email", "sms", "face"]}}


async def _tags(runtime, tag: str) -> list[dict]:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        rows = (await session.execute(select(AuditEvent).where(AuditEvent.tag == tag))).scalars()
        return [r.details for r in rows]


async def test_the_right_face_doing_the_movements_recovers_the_account(client, runtime):
    b = await person_with_face(client, runtime)
    rid = await recovery_for(client, runtime, format_cpf(b.cpf))
    challenge = await new_challenge(client, rid)
    assert len(challenge["movements"]) == 2 and len(set(challenge["movements"])) == 2
    assert challenge["challenge_id"] and challenge["expires_at"]
    frames = faces.movement_frames("astronaut", challenge["movements"])
    ok = await send(client, rid, challenge["challenge_id"], frames)
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "verified"
    new_rid = ok.json()["recovery_id"]
    assert new_rid != rid
    # The same challenge and frames cannot be used again (single use, replay).
    again = await send(client, new_rid, challenge["challenge_id"], frames)
    assert again.status_code in (400, 409)
    done = await client.post(f"/api/v1/recoveries/{new_rid}/password",
                             json={"password": NEW, "password_confirmation": NEW})
    assert done.status_code == 204, done.text
    signed = await client.post("/api/v1/sessions", json={"identifier": b.cpf, "password": NEW})
    assert signed.status_code == 201
    async with runtime.db.transaction() as session:
        evidence = (await session.execute(select(IdentityEvidence).where(PROOFS))).scalars().all()
    assert [(e.kind, e.source, e.method) for e in evidence] == [("face", "registry", "face")]
    verified = await _tags(runtime, "account.face.verified")
    assert verified and verified[0]["source"] == "registry"
    assert "frames" not in str(verified) and "template" not in str(verified)


async def test_another_persons_face_is_refused_with_clear_words(client, runtime):
    b = await person_with_face(client, runtime, "astronaut")
    rid = await recovery_for(client, runtime, format_cpf(b.cpf))
    challenge = await new_challenge(client, rid)
    refused = await send(client, rid, challenge["challenge_id"],
                         faces.movement_frames("grace", challenge["movements"]))
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "face_not_matched"
    assert "central de atendimento" in error["message"] and "revisão" in error["message"]
    failed = await _tags(runtime, "account.face.failed")
    assert failed[-1]["outcome"] == "not_matched"
    # A refused person may ask a human to review it (LGPD art. 20): it lands on the desk's list.
    review = await client.post(f"/api/v1/recoveries/{rid}/face/review")
    assert review.status_code == 202
    assert await _tags(runtime, "account.face.review_requested")


async def test_a_still_photo_fails_liveness(client, runtime):
    b = await person_with_face(client, runtime)
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    still = await send(client, rid, challenge["challenge_id"], faces.still_frames("astronaut"))
    assert still.status_code == 400
    assert still.json()["error"]["code"] == "liveness_failed"
    assert still.json()["error"]["reason"] in ("frames_still", "movement_not_seen")


async def test_frames_of_two_people_fail_liveness(client, runtime):
    b = await person_with_face(client, runtime)
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    mixed = faces.movement_frames(["astronaut", "grace"], challenge["movements"])
    answer = await send(client, rid, challenge["challenge_id"], mixed)
    assert answer.status_code == 400
    assert answer.json()["error"] == {**answer.json()["error"], "code": "liveness_failed",
                                      "reason": "different_people"}


async def test_the_wrong_movements_fail_liveness(client, runtime):
    b = await person_with_face(client, runtime)
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    opposite = {"turn_left": "turn_right", "turn_right": "turn_left", "tilt_up": "tilt_down",
                "tilt_down": "tilt_up", "come_closer": "turn_left"}
    wrong = [opposite[m] for m in challenge["movements"]]
    answer = await send(client, rid, challenge["challenge_id"],
                        faces.movement_frames("astronaut", wrong))
    assert answer.status_code == 400
    assert answer.json()["error"]["reason"] == "movement_not_seen"


async def test_a_replayed_sequence_fails_even_with_a_new_challenge(client, runtime):
    b = await person_with_face(client, runtime, "grace")
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    frames = faces.movement_frames("astronaut", challenge["movements"])
    first = await send(client, rid, challenge["challenge_id"], frames)
    assert first.json()["error"]["code"] == "face_not_matched"
    second = await new_challenge(client, rid)
    replay = await send(client, rid, second["challenge_id"], frames)
    assert replay.json()["error"] == {**replay.json()["error"], "code": "liveness_failed",
                                      "reason": "frames_replayed"}


async def test_quality_problems_come_with_an_instruction(client, runtime):
    b = await person_with_face(client, runtime)
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    dark = [faces.jpeg((faces.astronaut() * 0.15).astype("uint8"))] * 1
    answer = await send(client, rid, challenge["challenge_id"],
                        dark + faces.movement_frames("astronaut", challenge["movements"])[1:])
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "face_quality" and error["reason"] == "too_dark"
    assert "claro" in error["message"]
    challenge = await new_challenge(client, rid)
    empty = faces.jpeg(faces.astronaut()[:60, :60].copy())
    answer = await send(client, rid, challenge["challenge_id"], [empty] * 8)
    assert answer.json()["error"]["reason"] == "no_face"
    challenge = await new_challenge(client, rid)
    answer = await send(client, rid, challenge["challenge_id"], [b"not an image"] * 8)
    assert answer.status_code == 422 and answer.json()["error"]["reason"] == "unreadable"


async def test_a_person_without_reference_and_a_stranger_get_the_same_answers(client, runtime):
    b = await person_with_face(client, runtime, photo=None)
    known = await recovery_for(client, runtime, b.card_number)
    unknown = await recovery_for(client, runtime, "999888777")
    # Fixed seeds that pass the liveness check (as the tests below use): a seed drawn from the
    # random recovery id made this test fail now and then with ``liveness_failed``.
    for rid, seed in ((known, 21), (unknown, 22)):
        challenge = await new_challenge(client, rid)
        answer = await send(client, rid, challenge["challenge_id"],
                            faces.movement_frames("astronaut", challenge["movements"],
                                                  seed=seed))
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "face_not_matched"


async def test_attempts_per_flow_and_challenges_are_single_use(client, runtime):
    b = await person_with_face(client, runtime)
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    frames = [b"x"]
    for _ in range(5):
        answer = await send(client, rid, "nao-existe", frames)
        assert answer.json()["error"]["code"] == "liveness_failed"
        assert answer.json()["error"]["reason"] == "challenge_invalid"
    over = await send(client, rid, challenge["challenge_id"], frames)
    assert over.status_code == 429 and over.json()["error"]["code"] == "too_many_attempts"
    assert "central de atendimento" in over.json()["error"]["message"]
    # The flow failed for good: no new challenge either.
    assert (await client.post(f"/api/v1/recoveries/{rid}/face/challenges")).status_code == 429


async def test_attempts_per_account_per_day(client, runtime):
    b = await person_with_face(client, runtime)
    for _ in range(2):
        rid = await recovery_for(client, runtime, b.card_number)
        await new_challenge(client, rid)
        for _ in range(5):
            await send(client, rid, "nao-existe", [b"x"])
    rid = await recovery_for(client, runtime, format_cpf(b.cpf))
    await new_challenge(client, rid)
    answer = await send(client, rid, "nao-existe", [b"x"])
    assert answer.status_code == 429
    assert "Hoje" in answer.json()["error"]["message"]


async def test_upload_is_capped_before_parsing(client, runtime):
    runtime.settings.face.max_upload_bytes = 50_000
    b = await person_with_face(client, runtime, photo=None)
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    big = await send(client, rid, challenge["challenge_id"], [b"\xff" * 60_000])
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
    not_multipart = await client.post(f"/api/v1/recoveries/{rid}/face", json={"x": 1})
    assert not_multipart.status_code == 415
    no_frames = await client.post(f"/api/v1/recoveries/{rid}/face",
                                  data={"challenge_id": challenge["challenge_id"]},
                                  files=[("other", ("a.txt", b"a", "text/plain"))])
    assert no_frames.status_code == 422 and no_frames.json()["error"]["field"] == "frames"


async def test_face_is_not_offered_unless_configured(client, runtime):
    runtime.settings.recovery.methods = ["email", "sms"]
    b = await person_with_face(client, runtime, photo=None)
    started = await client.post("/api/v1/recoveries", json={"identifier": b.card_number,
                                                             "captcha": __import__(
                                                                 "tests.support.captcha",
                                                                 fromlist=["solve"]).solve(
                                                                 runtime.settings)})
    rid = started.json()["recovery_id"]
    answer = await client.post(f"/api/v1/recoveries/{rid}/face/challenges")
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "method_unavailable"


async def test_templates_are_sealed_and_bound_to_their_person(runtime):
    import numpy as np

    from guarita.methods import face_templates
    from guarita.services import face_references

    key = face_references.key(runtime)
    descriptor = np.linspace(-0.2, 0.2, 128)
    sealed = face_templates.seal_template(key, descriptor, owner="7")
    assert descriptor.astype("<f4").tobytes() not in sealed
    assert np.allclose(face_templates.unseal_template(key, sealed, owner="7"), descriptor,
                       atol=1e-6)
    assert face_templates.unseal_template(key, sealed, owner="8") is None
    assert face_templates.unseal_template(b"k" * 32, sealed, owner="7") is None
    async with runtime.db.transaction() as session:
        assert (await session.execute(select(FaceReference))).first() is None


async def test_a_face_step_takes_no_code_and_sends_none(client, runtime):
    b = await person_with_face(client, runtime, photo=None)
    rid = await recovery_for(client, runtime, b.card_number)
    sent = await client.post(f"/api/v1/recoveries/{rid}/code-requests", json={"method": "face"})
    assert sent.status_code == 422 and sent.json()["error"]["code"] == "method_unavailable"
    await new_challenge(client, rid)
    code = await client.post(f"/api/v1/recoveries/{rid}/code", json={"code": "123456"})
    assert code.status_code == 409 and code.json()["error"]["code"] == "flow_state_invalid"


async def _with_totp(runtime, card: str) -> str:  # noqa: ANN001
    from guarita.storage import credentials as credentials_repo
    from guarita.storage.tables import Account, Beneficiary

    async with runtime.db.transaction() as session:
        account = (await session.execute(select(Account).join(
            Beneficiary, Beneficiary.id == Account.beneficiary_id)
            .where(Beneficiary.card_number == card))).scalar_one()
        await credentials_repo.put(session, "account", account.id, "totp", data={"sealed": "x"})
        return account.id


async def test_a_registry_photo_does_not_replace_the_second_factor(client, runtime):
    b = await person_with_face(client, runtime)
    await _with_totp(runtime, b.card_number)
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    ok = await send(client, rid, challenge["challenge_id"],
                    faces.movement_frames("astronaut", challenge["movements"], seed=21))
    assert ok.status_code == 200 and ok.json()["state"] == "second_factor"
    early = await client.post(f"/api/v1/recoveries/{ok.json()['recovery_id']}/password",
                              json={"password": NEW, "password_confirmation": NEW})
    assert early.status_code == 409


async def test_an_in_person_reference_replaces_the_lost_second_factor(client, runtime):
    from guarita.storage import credentials as credentials_repo

    b = await person_with_face(client, runtime)
    async with runtime.db.transaction() as session:
        await session.execute(FaceReference.__table__.update().values(source="in_person"))
    account_id = await _with_totp(runtime, b.card_number)
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    ok = await send(client, rid, challenge["challenge_id"],
                    faces.movement_frames("astronaut", challenge["movements"], seed=22))
    assert ok.status_code == 200 and ok.json()["state"] == "verified"
    # The face alone changes nothing: the factors go with the new password.
    async with runtime.db.transaction() as session:
        assert "totp" in await credentials_repo.types_of(session, "account", account_id)
    assert not await _tags(runtime, "account.second_factor.removed")
    done = await client.post(f"/api/v1/recoveries/{ok.json()['recovery_id']}/password",
                             json={"password": NEW, "password_confirmation": NEW})
    assert done.status_code == 204, done.text
    async with runtime.db.transaction() as session:
        assert await credentials_repo.types_of(session, "account", account_id) == ["password"]
    removed = await _tags(runtime, "account.second_factor.removed")
    assert removed and removed[-1].get("by") == "face"
