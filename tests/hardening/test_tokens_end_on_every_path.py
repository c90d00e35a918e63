"""The ways in that came with two-step verification and facial validation end the apps' tokens
as the older ones do (SECURITY.md › Sessions and cookies; RFC 7662 §2.2; OpenID Connect Core
§5.3): a recovery completed through the face step, and the desk's removal of a lost second
factor after an in-person check. Before, a thief's access token outlived them.
"""

from __future__ import annotations

import pytest

from guarita.services import second_factors, support
from tests.console.helpers import quick_staff
from tests.face.helpers import new_challenge, person_with_face, recovery_for, send
from tests.hardening.test_tokens_end_with_the_account import _introspect, _refresh, _userinfo
from tests.oidc.support import add_client, tokens_for
from tests.support import faces
from tests.support.factories import format_cpf
from tests.two_step.helpers import CTX, code_at, person, secret_of

NEW = "uma frase nova depois do rosto"


@pytest.fixture
def settings_overrides() -> dict:
    return {"recovery": {"methods": ["email", "sms", "face"]}}


async def _ended(client, portal, tokens: dict) -> None:  # noqa: ANN001
    assert (await _introspect(client, portal, tokens["access_token"])) == {"active": False}
    assert (await _introspect(client, portal, tokens["refresh_token"])) == {"active": False}
    assert await _userinfo(client, tokens["access_token"]) == 401
    refreshed = await _refresh(client, portal, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_a_recovery_completed_by_face_ends_the_apps_tokens(client, runtime):
    b = await person_with_face(client, runtime)
    portal = await add_client(runtime)
    tokens = await tokens_for(client, portal, b.card_number)
    assert (await _introspect(client, portal, tokens["access_token"]))["active"] is True

    rid = await recovery_for(client, runtime, format_cpf(b.cpf))
    challenge = await new_challenge(client, rid)
    frames = faces.movement_frames("astronaut", challenge["movements"])
    passed = await send(client, rid, challenge["challenge_id"], frames)
    assert passed.status_code == 200, passed.text
    done = await client.post(f"/api/v1/recoveries/{passed.json()['recovery_id']}/password",
                             json={"password": NEW, "password_confirmation": NEW})
    assert done.status_code == 204, done.text

    await _ended(client, portal, tokens)


async def test_the_desk_removing_a_lost_second_factor_ends_the_apps_tokens(client, runtime):
    b, registered = await person(runtime)
    portal = await add_client(runtime)
    tokens = await tokens_for(client, portal, b.card_number)  # before the app was enrolled
    enrolment = await second_factors.start_totp(runtime, registered.session, CTX)
    await second_factors.confirm_totp(runtime, registered.session, enrolment.enrolment_id,
                                      code_at(secret_of(enrolment)), CTX)
    assert (await _introspect(client, portal, tokens["access_token"]))["active"] is True

    supervisor = (await quick_staff(runtime, "supervisor")).actor()
    reason = support.parse_reason("presencial", None)
    await support.caller_check(runtime, supervisor, b.id, reason=reason, context=CTX,
                               birth_date=b.birth_date.isoformat(), cpf=b.cpf, card_number=None)
    await support.record_identity_check(runtime, supervisor, b.id, document_type="rg",
                                        document_number="123456789", reason=reason, context=CTX)
    removed = await support.remove_second_factors(runtime, supervisor, b.id, reason=reason,
                                                  context=CTX)
    assert "totp" in removed

    await _ended(client, portal, tokens)
