"""OpenID: ``amr`` after two factors, ``acr_values=urn:guarita:mfa`` as a step-up (or enrolment
first), ``prompt=login`` asking both factors again (OpenID Connect Core §2, §3.1.2.1; RFC 8176)."""

from __future__ import annotations

import base64
import json
import re

from guarita.services import second_factors
from guarita.services.login import sign_in as service_sign_in
from tests.oidc.support import (
    add_client,
    authorize,
    csrf_of,
    exchange,
    person,
    pkce,
    query_of,
    sign_in,
)
from tests.support.factories import STRONG
from tests.two_step.helpers import CTX, code_at, next_step_code


def claims_of(id_token: str) -> dict:
    """The ID token's claims (its signature is checked by tests/oidc and the interop tests)."""
    return json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "==="))


async def enrol_totp(runtime, b) -> str:  # noqa: ANN001
    result = await service_sign_in(runtime, b.card_number, STRONG, CTX)
    enrolment = await second_factors.start_totp(runtime, result.session, CTX)
    secret = enrolment.secret.replace(" ", "")
    await second_factors.confirm_totp(
        runtime, result.session, enrolment.enrolment_id, code_at(secret), CTX
    )
    return secret


async def second_step(client, secret: str, offset: int = 1):  # noqa: ANN001, ANN201
    page = await client.get("/entrar/confirmar")
    assert page.status_code == 200, page.text
    return await client.post(
        "/entrar/confirmar",
        data={
            "csrf_token": csrf_of(page.text),
            "method": "totp",
            "code": next_step_code(secret, offset),
        },
    )


async def finish(client, portal, verifier: str, response) -> dict:  # noqa: ANN001
    for _ in range(5):
        location = response.headers["location"]
        if location.startswith(portal.redirect_uri):
            break
        response = await client.get(location)
    code = query_of(response.headers["location"])["code"]
    tokens = await exchange(client, portal, code, verifier)
    assert tokens.status_code == 200, tokens.text
    return claims_of(tokens.json()["id_token"])


async def test_sign_in_with_totp_gives_otp_and_mfa_in_the_id_token(runtime, client):
    b = await person(runtime)
    secret = await enrol_totp(runtime, b)
    portal = await add_client(runtime)
    verifier, challenge = pkce()
    start = await authorize(client, portal, challenge, acr_values="urn:guarita:mfa")
    assert start.headers["location"].startswith("/entrar?")
    next_path = query_of(start.headers["location"])["next"]
    signed = await sign_in(client, b.card_number, next_path=next_path)
    assert signed.headers["location"] == "/entrar/confirmar"
    done = await second_step(client, secret)
    assert done.status_code == 303 and done.headers["location"] == next_path
    claims = await finish(client, portal, verifier, done)
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])
    assert claims["acr"] == "urn:guarita:mfa"


async def test_a_session_without_a_second_factor_is_stepped_up(runtime, client):
    b = await person(runtime)
    portal = await add_client(runtime)
    await sign_in(client, b.card_number)  # password only: amr ["pwd"]
    secret = await enrol_totp(runtime, b)  # enrolled elsewhere (another session)
    verifier, challenge = pkce()
    start = await authorize(client, portal, challenge, acr_values="urn:guarita:mfa")
    assert start.headers["location"].startswith("/entrar/mais-seguranca?")
    page = await client.get(start.headers["location"])
    go = await client.post(
        "/entrar/mais-seguranca",
        data={
            "csrf_token": csrf_of(page.text),
            "next": query_of(start.headers["location"])["next"],
        },
    )
    assert go.headers["location"] == "/entrar/confirmar"
    done = await second_step(client, secret)
    claims = await finish(client, portal, verifier, done)
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


async def test_without_a_second_factor_the_portal_offers_enrolment_then_continues(runtime, client):
    b = await person(runtime)
    portal = await add_client(runtime)
    await sign_in(client, b.card_number)
    verifier, challenge = pkce()
    start = await authorize(client, portal, challenge, acr_values="urn:guarita:mfa")
    page = await client.get(start.headers["location"])
    resume = query_of(start.headers["location"])["next"]
    go = await client.post(
        "/entrar/mais-seguranca", data={"csrf_token": csrf_of(page.text), "next": resume}
    )
    assert go.headers["location"].startswith("/conta/seguranca?pedido=1")
    security = await client.get(go.headers["location"])
    assert "pede a verificação em duas etapas" in security.text
    started = await client.post(
        "/conta/seguranca/autenticador", data={"csrf_token": csrf_of(security.text), "next": resume}
    )
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", started.text).group(1).replace(" ", "")
    enrolment = re.search(r'name="enrolment_id" value="([^"]+)"', started.text).group(1)
    codes = await client.post(
        "/conta/seguranca/autenticador/confirmar",
        data={
            "csrf_token": csrf_of(started.text),
            "enrolment_id": enrolment,
            "code": code_at(secret),
            "next": resume,
        },
    )
    assert "Continuar para o serviço" in codes.text and resume.replace("&", "&amp;") in codes.text
    claims = await finish(client, portal, verifier, await client.get(resume))
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


async def test_prompt_login_asks_both_factors_again(runtime, client):
    b = await person(runtime)
    secret = await enrol_totp(runtime, b)
    portal = await add_client(runtime)
    await sign_in(client, b.card_number)
    await second_step(client, secret, offset=1)
    verifier, challenge = pkce()
    start = await authorize(client, portal, challenge, prompt="login")
    assert start.headers["location"].startswith("/entrar?")
    next_path = query_of(start.headers["location"])["next"]
    signed = await sign_in(client, b.card_number, next_path=next_path)
    assert signed.headers["location"] == "/entrar/confirmar"  # the second factor again
