"""node-oidc-provider as an outside provider, on loopback, for the suite
(``frontend/upstream-provider.mjs`` says what it serves; ``guarita demo --bank`` runs it too):
"Banco Exemplo" with a ``cpf`` claim, or a gov.br stand-in. Accounts and misbehaviours are
under the test's control through the provider's ``/__test/`` endpoints; a person's sign-in at
the bank is driven over HTTP by :func:`sign_in_at_bank` (the browser journeys use Chromium)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "frontend" / "node_modules"
SCRIPT = ROOT / "frontend" / "upstream-provider.mjs"  # beside node_modules: ESM resolves there
CLIENT_ID = "guarita-teste"
CLIENT_SECRET = "segredo-do-banco-exemplo-para-testes-0123456789"  # noqa: S105 - test only


def available() -> bool:
    return shutil.which("node") is not None and (NODE_MODULES / "oidc-provider").is_dir()


@dataclass
class NodeProvider:
    issuer: str
    port: int
    process: subprocess.Popen
    accounts: dict = field(default_factory=dict)

    def control(self, path: str, body: dict) -> dict:
        answer = httpx.post(f"{self.issuer}/__test/{path}", json=body, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def set_mode(self, mode: str) -> None:
        self.control("mode", {"mode": mode})

    def add_account(self, login: str, password: str, sub: str, **claims: object) -> None:
        self.control("accounts", {"login": login, "password": password, "sub": sub,
                                  "claims": claims})


def client_metadata(redirect_uri: str, *, secret: str | None = CLIENT_SECRET,
                    jwks: dict | None = None, client_id: str = CLIENT_ID) -> dict:
    metadata: dict = {"client_id": client_id, "redirect_uris": [redirect_uri],
                      "grant_types": ["authorization_code"], "response_types": ["code"]}
    if jwks is not None:
        metadata.update(token_endpoint_auth_method="private_key_jwt", jwks=jwks,
                        token_endpoint_auth_signing_alg="PS256")
    else:
        metadata.update(client_secret=secret, token_endpoint_auth_method="client_secret_basic")
    return metadata


@contextmanager
def node_provider(clients: list[dict], *, name: str = "Banco Exemplo", accounts: dict | None = None,
                  cpf_in_id_token: bool = False, par: bool = False, govbr: bool = False,
                  control: bool = True, port: int | None = None):
    """Starts the provider and yields a :class:`NodeProvider`; stops it afterwards."""
    port = port or free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORT": str(port), "NAME": name, "CLIENTS": json.dumps(clients),
           "ACCOUNTS": json.dumps(accounts or {}), "CPF_IN_ID_TOKEN": "1" if cpf_in_id_token else "0",
           "PAR": "1" if par else "0", "GOVBR": "1" if govbr else "0",
           "CONTROL": "1" if control else "0", "NODE_ENV": "production"}
    process = subprocess.Popen(["node", str(SCRIPT)], env=env, stdout=subprocess.DEVNULL,  # noqa: S603, S607
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError("node-oidc-provider saiu: " + process.stderr.read()[-3000:])
            try:
                if httpx.get(issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("node-oidc-provider não subiu")
            time.sleep(0.1)
        yield NodeProvider(issuer, port, process, dict(accounts or {}))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def sign_in_at_bank(authorization_url: str, login: str, password: str, *,
                          cancel: bool = False) -> dict[str, str]:
    """What a person does at the bank, over HTTP: opens the authorization URL, signs in (or
    cancels) and is sent back; answers the query of the redirect to Guarita's callback."""
    bank = urlsplit(authorization_url).netloc
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(authorization_url)
        for _ in range(10):
            if answer.status_code in (302, 303):
                target = urljoin(str(answer.url), answer.headers["location"])
                if urlsplit(target).netloc != bank:
                    return dict(parse_qsl(urlsplit(target).query))
                answer = await http.get(target)
                continue
            assert answer.status_code == 200, (answer.status_code, answer.text[:500])
            path = urlsplit(str(answer.url)).path
            action = "abort" if cancel else "login"
            answer = await http.post(f"{answer.url.scheme}://{bank}{path}/{action}",
                                     data={"login": login, "password": password})
        raise AssertionError("o banco não devolveu a pessoa")


REDIRECT = "http://testserver/upstream/callback"


@pytest.fixture(scope="session")
def bank_server():
    """ "Banco Exemplo" for the whole run, with the in-process Guarita's redirect URI and the CPF
    in its ID tokens; tests add their accounts and reset its mode (tests/upstream/conftest.py)."""
    if not available():
        pytest.skip("node e frontend/node_modules/oidc-provider são necessários (make setup)")
    with node_provider([client_metadata(REDIRECT)], cpf_in_id_token=True) as provider:
        yield provider
