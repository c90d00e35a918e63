"""The closed error table (domain/errors.py) at the edges: an unexpected exception is a 500
``internal_error`` envelope with nothing of what broke; a password recovery keeps answering
``recovery_expired`` while the other flows answer the general ``flow_expired``; the fixed
sentences of ``Message`` are plain text for every caller."""

from __future__ import annotations

import httpx
import pytest

from guarita.domain.errors import MESSAGES, ErrorCode, GuaritaError, Message
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary


@pytest.fixture
async def failing_app(app):
    async def broken() -> None:
        raise RuntimeError("segredo interno: senha do banco")

    app.add_api_route("/api/v1/quebrado", broken, methods=["GET"])
    app.add_api_route("/quebrado", broken, methods=["GET"])
    return app


async def test_an_unexpected_exception_is_an_internal_error_envelope(failing_app):
    # The server error middleware re-raises after answering (so the server logs it); the
    # client still gets the answer below.
    transport = httpx.ASGITransport(app=failing_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/api/v1/quebrado")
        page = await http.get("/quebrado", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": MESSAGES[ErrorCode.INTERNAL_ERROR],
            "field": None,
        }
    }
    assert page.status_code == 500 and "text/html" in page.headers["content-type"]
    for answer in (response, page):
        assert "segredo" not in answer.text and "Traceback" not in answer.text
        assert "RuntimeError" not in answer.text


async def test_recovery_keeps_recovery_expired_and_contact_verification_answers_flow_expired(
    client, runtime
):
    gone = await client.post("/api/v1/recoveries/desconhecido/code", json={"code": "123456"})
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "recovery_expired"

    b = await add_beneficiary(runtime)
    registered = await client.post(
        "/api/v1/registrations",
        json={"card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
              "password": STRONG, "password_confirmation": STRONG, "captcha": solve(runtime.settings)},
    )
    assert registered.status_code == 201, registered.text
    signed = await client.post(
        "/api/v1/sessions", json={"identifier": b.card_number, "password": STRONG}
    )
    token = signed.json()["session_token"]
    unknown = await client.post(
        "/api/v1/me/contacts/desconhecido/verification",
        json={"code": "123456"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert unknown.status_code == 410
    assert unknown.json()["error"] == {
        "code": "flow_expired",
        "message": MESSAGES[ErrorCode.FLOW_EXPIRED],
        "field": None,
    }


def test_a_fixed_sentence_reaches_callers_as_plain_text():
    error = GuaritaError(ErrorCode.INVALID_CREDENTIALS, message=Message.CURRENT_PASSWORD_WRONG)
    assert error.code is ErrorCode.INVALID_CREDENTIALS  # the contract stays the general code
    assert type(error.message) is str and error.message == "Senha atual incorreta."
