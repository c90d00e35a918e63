"""The JSON API of Cadastro, Entrar and Minha conta: every error code and the envelope."""

from __future__ import annotations

import pytest

from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary, format_cpf

NEW = "outra frase nova para a conta"


def body(runtime, b, **changes):  # noqa: ANN001, ANN003
    values = {"card_number": b.card_number, "cpf": format_cpf(b.cpf) if b.cpf else None,
              "birth_date": b.birth_date.strftime("%d/%m/%Y"), "password": STRONG,
              "password_confirmation": STRONG, "captcha": solve(runtime.settings)}
    values.update(changes)
    return values


async def test_register_sign_in_me_change_password_sign_out(client, runtime):
    b = await add_beneficiary(runtime)
    created = await client.post("/api/v1/registrations", json=body(runtime, b))
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["account"]["trust_level"] == "bronze" and data["session_token"]
    assert data["account"]["masked_cpf"] == f"***.{b.cpf[3:6]}.{b.cpf[6:9]}-**"
    for identifier in (b.card_number, b.cpf, b.email):
        signed = await client.post("/api/v1/sessions", json={"identifier": identifier, "password": STRONG})
        assert signed.status_code == 201, signed.text
    token = signed.json()["session_token"]
    auth = {"Authorization": f"Bearer {token}"}
    me = await client.get("/api/v1/me", headers=auth)
    assert me.status_code == 200 and me.json()["name"] == b.name
    assert any(e["succeeded"] for e in me.json()["recent_logins"])
    changed = await client.post("/api/v1/me/password", headers=auth, json={
        "current_password": STRONG, "password": NEW, "password_confirmation": NEW})
    assert changed.status_code == 204
    other = {"Authorization": f"Bearer {data['session_token']}"}
    assert (await client.get("/api/v1/me", headers=other)).json()["error"]["code"] == "session_expired"
    assert (await client.delete("/api/v1/sessions/current", headers=auth)).status_code == 204
    assert (await client.get("/api/v1/me", headers=auth)).status_code == 401


@pytest.mark.parametrize(("changes", "status", "code", "field"), [
    ({"cpf": "111.111.111-11"}, 422, "invalid_cpf", "cpf"),
    ({"card_number": "12"}, 422, "invalid_card_number", "card_number"),
    ({"birth_date": "2999-01-01"}, 422, "invalid_birth_date", "birth_date"),
    ({"password_confirmation": "outra coisa bem longa aqui"}, 422, "password_mismatch", "password_confirmation"),
    ({"password": "curta", "password_confirmation": "curta"}, 422, "weak_password", "password"),
    ({"birth_date": "01/01/1960"}, 422, "beneficiary_not_matched", None),
    ({"cpf": None}, 422, "beneficiary_not_matched", None),
])
async def test_registration_errors(client, runtime, changes, status, code, field):
    b = await add_beneficiary(runtime)
    response = await client.post("/api/v1/registrations", json=body(runtime, b, **changes))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["field"] == field and error["message"]
    if code == "weak_password":
        assert error["reasons"] == ["too_short"]


async def test_already_registered_answers_like_a_mismatch(client, runtime):
    """Leaked card + CPF + birth date must not confirm that an account exists (SECURITY.md ›
    Account enumeration); the person's own contacts are told instead."""
    b = await add_beneficiary(runtime)
    assert (await client.post("/api/v1/registrations", json=body(runtime, b))).status_code == 201
    again = await client.post("/api/v1/registrations", json=body(runtime, b))
    wrong = await client.post("/api/v1/registrations",
                              json=body(runtime, b, birth_date="03/02/1961"))
    assert again.status_code == wrong.status_code == 422
    assert again.json() == wrong.json()
    assert again.json()["error"]["code"] == "beneficiary_not_matched"
    assert "Esqueci minha senha" in again.json()["error"]["message"]


async def test_registration_needs_the_captcha(client, runtime):
    b = await add_beneficiary(runtime)
    for captcha in (None, "", "bm90IGEgc29sdXRpb24="):
        refused = await client.post("/api/v1/registrations",
                                    json=body(runtime, b, captcha=captcha))
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "captcha_invalid"
    solved = body(runtime, b)
    assert (await client.post("/api/v1/registrations", json=solved)).status_code == 201
    # A solution is accepted once.
    replay = await client.post("/api/v1/registrations", json=solved)
    assert replay.json()["error"]["code"] == "captcha_invalid"


async def test_invalid_credentials_same_status_and_body(client, runtime):
    b = await add_beneficiary(runtime)
    await client.post("/api/v1/registrations", json=body(runtime, b))
    unknown = await client.post("/api/v1/sessions", json={"identifier": "ninguem@example.com", "password": STRONG})
    wrong = await client.post("/api/v1/sessions", json={"identifier": b.email, "password": "errada errada errada"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"]["code"] == "invalid_credentials"


async def test_lockout_over_the_api_has_retry_after(client, runtime):
    b = await add_beneficiary(runtime)
    await client.post("/api/v1/registrations", json=body(runtime, b))
    for _ in range(5):
        await client.post("/api/v1/sessions", json={"identifier": b.card_number, "password": "errada errada errada"})
    locked = await client.post("/api/v1/sessions", json={"identifier": b.card_number, "password": STRONG})
    assert locked.status_code == 429
    error = locked.json()["error"]
    assert error["code"] == "too_many_attempts" and 1 <= error["retry_after"] <= 60
    assert locked.headers["retry-after"] == str(error["retry_after"])
    assert error["message"].startswith("Muitas tentativas. Tente de novo em 1 minuto")


@pytest.mark.parametrize("payload", [
    "not json", "[]", '{"identifier": 5}', '{"identifier": "x"}', '{"password": "x"}', "null",
    '{"identifier": "' + "9" * 300 + '", "password": "x"}',
])
async def test_malformed_bodies_are_4xx_with_the_envelope(client, payload):
    response = await client.post("/api/v1/sessions", content=payload, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert set(response.json()["error"]) >= {"code", "message", "field"}


async def test_me_requires_a_bearer_token(client):
    response = await client.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"
    response = await client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "session_expired"
