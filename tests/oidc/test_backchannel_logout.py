"""OpenID Connect Back-Channel Logout 1.0: registration, discovery, the logout token a client
receives on loopback (validated as a client library does, §2.6), the ways a session ends, and
the outbox's retries."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from guarita.messaging.worker import deliver_due
from guarita.oidc import clients as clients_repo
from guarita.oidc.clients import ClientRegistrationError, ClientSpec
from guarita.storage.tables import OutboxMessage
from guarita.storage.types import utcnow
from tests.hardening import test_tokens_end_with_the_account as hardening
from tests.oidc.support import add_client, csrf_of, person, sign_in, tokens_for
from tests.support.factories import STRONG
from tests.support.http_server import RecordingHttpServer

EVENT = "http://schemas.openid.net/event/backchannel-logout"


async def validate_logout_token(http: httpx.AsyncClient, token: str, client_id: str) -> dict:
    """What a relying party does with a logout token (Back-Channel Logout 1.0 §2.6), with
    joserfc and nothing of Guarita: the provider's JWKS from its discovery document, the
    signature, ``typ``, ``iss``, ``aud``, ``iat``/``exp``, ``events``, ``sub`` or ``sid``, and
    no ``nonce``."""
    meta = (await http.get("/.well-known/openid-configuration")).json()
    keys = KeySet.import_key_set((await http.get(meta["jwks_uri"])).json())
    try:
        decoded = jwt.decode(token, keys, algorithms=meta["id_token_signing_alg_values_supported"])
    except JoseError as exc:  # pragma: no cover - a failure message for the test
        raise AssertionError(f"logout token inválido: {exc}") from exc
    assert decoded.header["typ"] == "logout+jwt"
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": client_id},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(decoded.claims)
    claims = decoded.claims
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims
    assert claims.get("sub") or claims.get("sid")
    assert claims["exp"] - claims["iat"] <= 120
    return claims


def _unverified(token: str) -> dict:
    """The claims of our own ID token (the client already validated it)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def receiver():
    with RecordingHttpServer() as server:
        yield server


async def rp(runtime, receiver, **kw):  # noqa: ANN001, ANN003, ANN201
    return await add_client(runtime, backchannel_logout_uri=receiver.url + "/bcl", **kw)


async def delivered(runtime, receiver, count: int = 1) -> list:  # noqa: ANN001
    await deliver_due(runtime)
    assert len(receiver.requests) == count, receiver.requests
    return receiver.requests


async def test_discovery_advertises_back_and_front_channel_logout(client):
    doc = (await client.get("/.well-known/openid-configuration")).json()
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
    assert doc["frontchannel_logout_supported"] is True
    assert doc["frontchannel_logout_session_supported"] is True
    assert "sid" in doc["claims_supported"]


async def test_signing_out_on_the_page_posts_a_valid_logout_token_to_the_client(
    runtime, client, receiver
):
    b = await person(runtime)
    c = await rp(runtime, receiver)
    tokens = await tokens_for(client, c, b.card_number)
    signed_in = _unverified(tokens["id_token"])
    assert signed_in["sid"]  # §2.1: the ID token names the session
    page = await client.get("/conta")
    assert (await client.post("/sair", data={"csrf_token": csrf_of(page.text)})).status_code == 303
    [request] = await delivered(runtime, receiver)
    assert request.method == "POST" and request.path == "/bcl"
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = request.form()
    assert list(form) == ["logout_token"]
    claims = await validate_logout_token(client, form["logout_token"], c.id)
    assert claims["sid"] == signed_in["sid"] and claims["sub"] == signed_in["sub"]
    async with runtime.db.read() as session:
        row = (await session.scalars(select(OutboxMessage))).all()
    assert [(m.channel, m.status, m.to) for m in row if m.channel == "logout"] == [
        ("logout", "sent", receiver.url + "/bcl")
    ]
    # Sent once: a second run of the worker sends nothing more.
    await deliver_due(runtime)
    assert len(receiver.requests) == 1


async def test_rp_initiated_logout_and_the_api_sign_out_tell_the_client(runtime, client, receiver):
    b = await person(runtime)
    c = await rp(runtime, receiver)
    tokens = await tokens_for(client, c, b.card_number)
    response = await client.get("/oauth/logout", params={"id_token_hint": tokens["id_token"]})
    assert response.status_code == 200
    [request] = await delivered(runtime, receiver)
    claims = await validate_logout_token(client, request.form()["logout_token"], c.id)
    assert claims["sid"] == _unverified(tokens["id_token"])["sid"]


async def test_each_client_of_the_session_hears_once_and_others_not_at_all(
    runtime, client, receiver
):
    b = await person(runtime)
    first = await rp(runtime, receiver)
    with RecordingHttpServer() as other_receiver:
        second = await add_client(
            runtime, backchannel_logout_uri=other_receiver.url + "/sair",
            redirect_uris=["https://app.example.org/cb"],
        )
        quiet = await add_client(runtime, redirect_uris=["https://quiet.example.org/cb"])
        await tokens_for(client, first, b.card_number)
        await tokens_for(client, first, b.card_number)  # two grants, one session
        await tokens_for(client, second, b.card_number)
        await tokens_for(client, quiet, b.card_number)
        page = await client.get("/conta")
        await client.post("/sair", data={"csrf_token": csrf_of(page.text)})
        await deliver_due(runtime)
        assert len(receiver.requests) == 1 and len(other_receiver.requests) == 1
        await validate_logout_token(
            client, other_receiver.requests[0].form()["logout_token"], second.id
        )


async def test_ending_another_device_and_a_password_change_reach_its_apps(
    runtime, app, client, receiver
):
    b = await person(runtime)
    c = await rp(runtime, receiver)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.20", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as phone:
        phone_tokens = await tokens_for(phone, c, b.card_number)
        await tokens_for(client, c, b.card_number)
        page = await client.get("/conta")
        handle = next(
            part.split('"')[0]
            for part in page.text.split('name="device" value="')[1:]
        )
        ended = await client.post(
            "/conta/aparelhos/encerrar",
            data={"csrf_token": csrf_of(page.text), "device": handle},
        )
        assert ended.status_code == 303 and "aparelho-encerrado" in ended.headers["location"]
        [request] = await delivered(runtime, receiver)
        claims = await validate_logout_token(client, request.form()["logout_token"], c.id)
        assert claims["sid"] == _unverified(phone_tokens["id_token"])["sid"]

        # A password change ends the other sessions: the phone signs in again, then is told.
        phone_again = await tokens_for(phone, c, b.card_number)
        page = await client.get("/conta")
        changed = await client.post("/conta/senha", data={
            "csrf_token": csrf_of(page.text), "current_password": STRONG,
            "password": "uma frase nova e longa para a conta",
            "password_confirmation": "uma frase nova e longa para a conta",
        })
        assert changed.status_code == 303, changed.text
        await deliver_due(runtime)
        assert len(receiver.requests) == 2
        claims = await validate_logout_token(
            client, receiver.requests[1].form()["logout_token"], c.id
        )
        assert claims["sid"] == _unverified(phone_again["id_token"])["sid"]


async def test_a_failing_client_is_retried_with_backoff_and_a_refusal_stops(
    runtime, client, receiver
):
    b = await person(runtime)
    c = await rp(runtime, receiver)
    await tokens_for(client, c, b.card_number)
    receiver.respond(503, 200)
    page = await client.get("/conta")
    await client.post("/sair", data={"csrf_token": csrf_of(page.text)})
    await deliver_due(runtime)
    async with runtime.db.read() as session:
        row = (await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "logout"))).one()
    assert row.status == "pending" and row.attempts == 1 and "503" in row.last_error
    assert row.next_attempt_at > utcnow()  # backoff
    await deliver_due(runtime, now=utcnow() + timedelta(hours=1))
    assert len(receiver.requests) == 2
    # Both attempts carried a token of their own (signed at each attempt).
    first, second = (r.form()["logout_token"] for r in receiver.requests)
    assert first != second
    await validate_logout_token(client, second, c.id)
    async with runtime.db.read() as session:
        assert (await session.get(OutboxMessage, row.id)).status == "sent"

    # §2.8: a 400 says the client could not use the token; retrying cannot change that.
    await tokens_for(client, c, b.card_number)
    receiver.respond(400)
    page = await client.get("/conta")
    await client.post("/sair", data={"csrf_token": csrf_of(page.text)})
    await deliver_due(runtime)
    async with runtime.db.read() as session:
        last = (await session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "logout")
            .order_by(OutboxMessage.id.desc())
        )).first()
    assert last.status == "failed" and "400" in last.last_error


async def test_a_disabled_client_or_a_changed_address_hears_nothing(runtime, client, receiver):
    b = await person(runtime)
    c = await rp(runtime, receiver)
    await tokens_for(client, c, b.card_number)
    page = await client.get("/conta")
    await client.post("/sair", data={"csrf_token": csrf_of(page.text)})
    # The operator moves the client elsewhere before the worker runs: the old address never
    # receives the token.
    async with runtime.db.transaction() as session:
        found = await clients_repo.find(session, c.id)
        spec = ClientSpec(name=found.name, redirect_uris=list(found.redirect_uris),
                          backchannel_logout_uri="https://elsewhere.example.org/bcl",
                          client_id=c.id)
        await clients_repo.ensure(session, spec)
    clients_repo.forget(runtime)
    await deliver_due(runtime)
    assert receiver.requests == []
    async with runtime.db.read() as session:
        row = (await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "logout"))).one()
    assert row.status == "failed"


@pytest.mark.parametrize("uri", [
    "http://portal.example.org/bcl",   # http off loopback
    "https://portal.example.org/bcl#x",  # fragment
    "/bcl",                            # relative
])
async def test_registration_refuses_bad_logout_uris(runtime, uri):
    async with runtime.db.transaction() as session:
        with pytest.raises(ClientRegistrationError):
            await clients_repo.register(session, ClientSpec(
                name="Portal", redirect_uris=["https://portal.example.org/cb"],
                backchannel_logout_uri=uri,
            ))
        with pytest.raises(ClientRegistrationError):
            await clients_repo.register(session, ClientSpec(
                name="Portal", redirect_uris=["https://portal.example.org/cb"],
                frontchannel_logout_uri=uri,
            ))


@pytest.mark.parametrize(
    "event",
    [hardening.change_password, hardening.recover, hardening.lock_by_owner,
     hardening.disable_at_the_desk],
    ids=lambda e: e.__name__,
)
async def test_every_way_an_account_is_ended_tells_the_app(runtime, client, receiver, event):
    """A password change (the other sessions), a recovery, "Não foi você?" and the desk
    disabling the account: the app that signed in through the browser session hears it."""
    b = await person(runtime)
    if event is hardening.lock_by_owner:
        await hardening._recover(runtime, b)  # the notice that carries the link
        assert (await sign_in(client, b.card_number, hardening.NEW)).status_code == 303
    c = await rp(runtime, receiver)
    tokens = await tokens_for(client, c, b.card_number)
    await event(runtime, client, b)
    [request] = await delivered(runtime, receiver)
    claims = await validate_logout_token(client, request.form()["logout_token"], c.id)
    assert claims["sid"] == _unverified(tokens["id_token"])["sid"]
