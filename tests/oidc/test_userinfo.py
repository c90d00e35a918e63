"""UserInfo (OpenID Connect Core 1.0 §5.3, RFC 6750): GET and POST, claims per scope, only
verified contacts, pairwise subjects, and tokens that must not be accepted."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import time_machine
from sqlalchemy import update

from guarita.storage.tables import AccountIdentifier
from guarita.storage.types import utcnow
from tests.oidc.support import add_client, person, tokens_for


async def test_userinfo_get_and_post(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number))["access_token"]
    got = await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    posted = await client.post("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    in_body = await client.post("/oauth/userinfo", data={"access_token": token})
    assert got.status_code == posted.status_code == in_body.status_code == 200
    assert got.json() == posted.json() == in_body.json()
    assert got.headers["cache-control"] == "no-store"
    assert got.json() == {
        "sub": b.account_id,
        "name": "Maria José da Conceição",
        "birthdate": "1950-03-04",
        "email": "maria@example.com",
        "email_verified": True,
        "phone_number": "+5561991234567",
        "phone_number_verified": True,
        "cpf": b.cpf,
        "card_number": "100200300",
        "trust_level": "bronze",
        "trust_level_method": "registry_match",
    }


async def test_claims_follow_the_scopes(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number, scope="openid beneficiary"))["access_token"]
    claims = (
        await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert claims == {"sub": b.account_id, "card_number": "100200300"}


async def test_unverified_email_is_not_released(runtime, client):
    b = await person(runtime)
    async with runtime.db.transaction() as s:
        await s.execute(
            update(AccountIdentifier)
            .where(AccountIdentifier.kind == "email")
            .values(verified_at=None)
        )
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number, scope="openid email"))["access_token"]
    claims = (
        await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert claims == {"sub": b.account_id}


async def test_pairwise_subjects_differ_per_sector_and_are_stable(runtime, client):
    b = await person(runtime)
    one = await add_client(runtime, subject_type="pairwise")
    two = await add_client(
        runtime,
        name="Outro",
        subject_type="pairwise",
        redirect_uris=["https://farmacia.example.com/cb"],
    )
    sub_one = (
        await client.get(
            "/oauth/userinfo",
            headers={
                "Authorization": "Bearer "
                + (await tokens_for(client, one, b.card_number))["access_token"]
            },
        )
    ).json()["sub"]
    sub_two = (
        await client.get(
            "/oauth/userinfo",
            headers={
                "Authorization": "Bearer "
                + (await tokens_for(client, two, b.card_number))["access_token"]
            },
        )
    ).json()["sub"]
    again = (
        await client.get(
            "/oauth/userinfo",
            headers={
                "Authorization": "Bearer "
                + (await tokens_for(client, one, b.card_number))["access_token"]
            },
        )
    ).json()["sub"]
    assert sub_one != sub_two and sub_one == again
    assert b.account_id not in (sub_one, sub_two) and b.cpf not in (sub_one, sub_two)


async def test_missing_token_gets_a_bare_challenge(client):
    response = await client.get("/oauth/userinfo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="guarita"'


async def test_expired_and_forged_tokens_are_invalid(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    forged = tokens["access_token"][:-6] + "AAAAAA"
    for bad in (
        forged,
        "abc",
        tokens["id_token"],
    ):  # an ID token is not an access token (RFC 9068 §4)
        response = await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    with time_machine.travel(utcnow() + timedelta(seconds=301)):
        response = await client.get(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert response.status_code == 401


def _unsigned(token: str) -> str:
    header, payload, _ = token.split(".")
    none = (
        base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
        .rstrip(b"=")
        .decode()
    )
    return f"{none}.{payload}."


async def test_alg_none_is_never_accepted(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number))["access_token"]
    response = await client.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {_unsigned(token)}"}
    )
    assert response.status_code == 401


async def test_token_with_claims_changed_is_refused(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number))["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] = int(time.time()) + 10_000
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = await client.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {header}.{payload}.{signature}"}
    )
    assert response.status_code == 401


async def test_token_in_header_and_body_is_refused(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number))["access_token"]
    response = await client.post(
        "/oauth/userinfo",
        data={"access_token": token},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_disabled_account_gets_nothing(runtime, client):
    from guarita.storage.tables import Account

    b = await person(runtime)
    c = await add_client(runtime)
    token = (await tokens_for(client, c, b.card_number))["access_token"]
    async with runtime.db.transaction() as s:
        await s.execute(update(Account).values(status="disabled"))
    response = await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
