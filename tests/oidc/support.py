"""Helpers of the provider tests: a registered person, clients, the sign-in form, PKCE."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from guarita.oidc import clients as clients_repo
from guarita.oidc.clients import ClientSpec
from guarita.oidc.pkce import s256
from guarita.runtime import Runtime
from guarita.services.registration import RegistrationInput, register
from guarita.storage.audit import RequestContext
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary

CTX = RequestContext(ip="198.51.100.7", user_agent="pytest")
REDIRECT = "https://portal.example.org/callback"
BASE = "http://testserver"


async def person(runtime: Runtime, **kw):  # noqa: ANN003, ANN201
    """A beneficiary who registered (card, CPF, verified e-mail from the registry)."""
    b = await add_beneficiary(runtime, **kw)
    result = await register(
        runtime,
        RegistrationInput(
            b.card_number, b.cpf, b.cpf is None, b.birth_date.isoformat(), STRONG, STRONG,
            captcha=solve(runtime.settings),
        ),
        CTX,
    )
    b.account_id = result.account_id
    return b


@dataclass
class Registered:
    id: str
    secret: str | None
    redirect_uri: str

    def basic(self) -> dict[str, str]:
        raw = f"{self.id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def add_client(runtime: Runtime, **kw) -> Registered:  # noqa: ANN003
    kw.setdefault("name", "Portal do Beneficiário")
    kw.setdefault("redirect_uris", [REDIRECT])
    kw.setdefault("post_logout_redirect_uris", ["https://portal.example.org/saiu"])
    async with runtime.db.transaction() as session:
        client, secret = await clients_repo.register(session, ClientSpec(**kw))
    return Registered(client.id, secret, kw["redirect_uris"][0] if kw["redirect_uris"] else "")


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "página sem campo CSRF"
    return found.group(1)


async def sign_in(
    http: httpx.AsyncClient, identifier: str, password: str = STRONG, next_path: str = ""
) -> httpx.Response:
    page = await http.get("/entrar", params={"next": next_path} if next_path else None)
    return await http.post(
        "/entrar",
        data={
            "identifier": identifier,
            "password": password,
            "next": next_path,
            "csrf_token": csrf_of(page.text),
        },
    )


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize_params(client: Registered, challenge: str, **extra) -> dict:  # noqa: ANN003
    params = {
        "response_type": "code",
        "client_id": client.id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid profile email phone cpf beneficiary trust",
        "state": "estado-123",
        "nonce": "nonce-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


async def authorize(
    http: httpx.AsyncClient, client: Registered, challenge: str, **extra
) -> httpx.Response:  # noqa: ANN003
    return await http.get("/oauth/authorize", params=authorize_params(client, challenge, **extra))


async def follow_login(
    http: httpx.AsyncClient, response: httpx.Response, identifier: str, password: str = STRONG
) -> httpx.Response:
    """From a redirect to /entrar: sign in through the form, then follow back to the resume."""
    location = response.headers["location"]
    assert location.startswith("/entrar?"), location
    next_path = query_of(location)["next"]
    signed = await sign_in(http, identifier, password, next_path)
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == next_path
    return await http.get(next_path)


async def code_for(
    http: httpx.AsyncClient, client: Registered, identifier: str, **extra
) -> tuple[str, str, dict]:  # noqa: ANN003
    """A full front channel: returns (code, verifier, redirect query)."""
    verifier, challenge = pkce()
    response = await authorize(http, client, challenge, **extra)
    if response.headers.get("location", "").startswith("/entrar"):
        response = await follow_login(http, response, identifier)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(client.redirect_uri), location
    query = query_of(location)
    assert "code" in query, query
    return query["code"], verifier, query


async def exchange(
    http: httpx.AsyncClient, client: Registered, code: str, verifier: str | None, **extra
) -> httpx.Response:  # noqa: ANN003
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    headers = client.basic() if client.secret else {}
    if not client.secret:
        data.setdefault("client_id", client.id)
    return await http.post("/oauth/token", data=data, headers=headers)


async def tokens_for(http: httpx.AsyncClient, client: Registered, identifier: str, **extra) -> dict:  # noqa: ANN003
    code, verifier, _ = await code_for(http, client, identifier, **extra)
    response = await exchange(http, client, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


def encoded(params: dict) -> str:
    return urlencode(params)
