"""The app's API for two-step verification (docs/two-step.md › API): sign-in answering
``second_factor_required``, the second factor, passkey sign-in, and /me/second-factors and
/me/passkeys with the software authenticator."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import time_machine

from guarita.storage.types import utcnow
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary
from tests.two_step.helpers import next_step_code
from tests.two_step.soft_authenticator import SoftAuthenticator


async def signed_in(client, runtime):  # noqa: ANN001, ANN201
    b = await add_beneficiary(runtime)
    created = await client.post(
        "/api/v1/registrations",
        json={
            "card_number": b.card_number,
            "cpf": b.cpf,
            "birth_date": b.birth_date.isoformat(),
            "password": STRONG,
            "password_confirmation": STRONG,
            "captcha": solve(runtime.settings),
        },
    )
    assert created.status_code == 201, created.text
    return b, {"Authorization": f"Bearer {created.json()['session_token']}"}


async def test_totp_over_the_api_then_sign_in_in_two_steps(client, runtime):
    b, auth = await signed_in(client, runtime)
    assert (await client.get("/api/v1/me/second-factors", headers=auth)).json()["enabled"] is False
    started = await client.post("/api/v1/me/second-factors/totp", json={}, headers=auth)
    assert started.status_code == 201 and started.json()["otpauth_uri"].startswith(
        "otpauth://totp/"
    )
    secret = started.json()["secret"].replace(" ", "")
    confirmed = await client.post(
        "/api/v1/me/second-factors/totp/confirmation",
        headers=auth,
        json={"enrolment_id": started.json()["enrolment_id"], "code": pyotp.TOTP(secret).now()},
    )
    assert confirmed.status_code == 200 and len(confirmed.json()["recovery_codes"]) == 10
    first = await client.post(
        "/api/v1/sessions", json={"identifier": b.card_number, "password": STRONG}
    )
    assert first.status_code == 202
    body = first.json()
    assert body["status"] == "second_factor_required" and "session_token" not in body
    assert [m["id"] for m in body["methods"]] == ["totp", "recovery_code"]
    wrong = await client.post(
        f"/api/v1/sessions/{body['pending_id']}/second-factor",
        json={"method": "totp", "code": "000000"},
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_code"
    done = await client.post(
        f"/api/v1/sessions/{body['pending_id']}/second-factor",
        json={"method": "totp", "code": next_step_code(secret)},
    )
    assert done.status_code == 201 and done.json()["session_token"]
    codes = await client.post("/api/v1/me/second-factors/recovery-codes", json={}, headers=auth)
    assert codes.status_code == 201 and len(codes.json()["codes"]) == 10


async def test_changes_after_five_minutes_need_the_password(client, runtime):
    _, auth = await signed_in(client, runtime)
    with time_machine.travel(utcnow() + timedelta(minutes=6), tick=False):
        refused = await client.post("/api/v1/me/second-factors/totp", json={}, headers=auth)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "reauthentication_required"
        with_password = await client.post(
            "/api/v1/me/second-factors/totp", json={"password": STRONG}, headers=auth
        )
        assert with_password.status_code == 201


async def test_passkeys_over_the_api(client, runtime):
    _, auth = await signed_in(client, runtime)
    options = await client.post("/api/v1/me/passkeys/options", json={}, headers=auth)
    assert options.status_code == 200
    device = SoftAuthenticator()
    created = await client.post(
        "/api/v1/me/passkeys",
        headers=auth,
        json={"credential": device.create(options.json()["publicKey"]), "name": "Celular da Maria"},
    )
    assert created.status_code == 201, created.text
    key_id = created.json()["passkey"]["id"]
    renamed = await client.patch(
        f"/api/v1/me/passkeys/{key_id}", headers=auth, json={"name": "Celular novo"}
    )
    assert renamed.json()["name"] == "Celular novo"
    listed = await client.get("/api/v1/me/passkeys", headers=auth)
    assert [p["name"] for p in listed.json()] == ["Celular novo"]
    sign_in = await client.post("/api/v1/sessions/passkey/options")
    session = await client.post(
        "/api/v1/sessions/passkey", json={"credential": device.get(sign_in.json()["publicKey"])}
    )
    assert session.status_code == 201 and session.json()["session_token"]
    again = await client.post(
        "/api/v1/sessions/passkey", json={"credential": device.get(sign_in.json()["publicKey"])}
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == "second_factor_invalid"
    removed = await client.request(
        "DELETE",
        f"/api/v1/me/passkeys/{key_id}",
        headers=auth,
        json={
            "new_password": "uma outra frase longa e boa",
            "new_password_confirmation": "uma outra frase longa e boa",
        },
    )
    assert removed.status_code == 204
    assert (await client.get("/api/v1/me/passkeys", headers=auth)).json() == []


async def test_openapi_describes_the_two_step_operations(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v1/sessions/{pending_id}/second-factor",
        "/api/v1/sessions/passkey",
        "/api/v1/sessions/passkey/options",
        "/api/v1/me/second-factors",
        "/api/v1/me/second-factors/totp",
        "/api/v1/me/passkeys",
        "/api/v1/me/passkeys/{passkey_id}",
        "/api/v1/me/second-factors/recovery-codes",
    ):
        assert path in paths, path
    assert "202" in paths["/api/v1/sessions"]["post"]["responses"]


async def test_recovery_over_the_api_asks_for_the_second_factor(client, runtime):
    from tests.recovery.test_recovery_service import last_code
    from tests.support.captcha import solve

    b, auth = await signed_in(client, runtime)
    started = await client.post("/api/v1/me/second-factors/totp", json={}, headers=auth)
    secret = started.json()["secret"].replace(" ", "")
    await client.post("/api/v1/me/second-factors/totp/confirmation", headers=auth,
                      json={"enrolment_id": started.json()["enrolment_id"],
                            "code": pyotp.TOTP(secret).now()})
    flow = await client.post("/api/v1/recoveries", json={"identifier": b.cpf,
                                                         "captcha": solve(runtime.settings)})
    recovery_id = flow.json()["recovery_id"]
    await client.post(f"/api/v1/recoveries/{recovery_id}/code-requests", json={"method": "email"})
    proven = await client.post(f"/api/v1/recoveries/{recovery_id}/code",
                               json={"code": await last_code(runtime, b.email)})
    body = proven.json()
    assert body["state"] == "second_factor"
    assert [m["id"] for m in body["second_factors"]] == ["totp", "recovery_code"]
    recovery_id = body["recovery_id"]
    early = await client.post(f"/api/v1/recoveries/{recovery_id}/password",
                              json={"password": "mar e serra", "password_confirmation": "mar e serra"})
    assert early.status_code == 409
    done = await client.post(f"/api/v1/recoveries/{recovery_id}/second-factor",
                             json={"method": "totp", "code": next_step_code(secret)})
    assert done.status_code == 200 and done.json()["state"] == "verified"
    password = await client.post(f"/api/v1/recoveries/{recovery_id}/password",
                                 json={"password": "mar e serra", "password_confirmation": "mar e serra"})
    assert password.status_code == 204
