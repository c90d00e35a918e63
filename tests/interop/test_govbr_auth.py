"""A portal built for gov.br's Login Único with a real gov.br client library — ``govbr-auth``
1.0.2 from PyPI, its FastAPI adapter — switches to Guarita by pointing its ``GOVBR_*`` settings
at ``{GUARITA}/govbr/`` (docs/govbr-profile.md). Both run as real servers on 127.0.0.1; a
person in a browser signs in, the portal reads ``reliability_info``, signs out; and, asked for
prata, is led by the catalogue of reliabilities to validate at a bank ("Banco Exemplo",
node-oidc-provider on loopback) and comes back to the portal at ``silver``.

The library is strict where gov.br's clients are: RS256 only and every key of the JWKS an RS256
RSA key, the token response exactly ``access_token id_token token_type expires_in scope``,
UserInfo with standard claims only, the ID token's ``iss`` exactly the issuer with its slash.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import re
import subprocess
import sys
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from tests.interop.conftest import ROOT, browse_sign_in, free_port, stop, wait_until_up

pytestmark = [pytest.mark.interop]

CARD = "300400777"
BANK_PASSWORD = "senha-do-banco"  # noqa: S105 - the test bank's account
SCOPE = "openid email phone profile govbr_confiabilidades govbr_confiabilidades_idtoken"


async def _register_person(url: str) -> str:
    """A third beneficiary of the live server's database, of this module only; returns the CPF."""
    from guarita.runtime import Runtime
    from guarita.services.registration import RegistrationInput, register
    from guarita.storage.audit import RequestContext
    from tests.conftest import make_settings
    from tests.support.captcha import solve
    from tests.support.factories import STRONG, add_beneficiary

    runtime = Runtime.build(make_settings(url))
    try:
        b = await add_beneficiary(
            runtime, card=CARD, seed=4242, name="Severina Lima da Silva",
            email="severina@example.com",
        )
        await register(
            runtime,
            RegistrationInput(b.card_number, b.cpf, False, b.birth_date.isoformat(), STRONG,
                              STRONG, captcha=solve(runtime.settings)),
            RequestContext(ip="127.0.0.1"),
        )
        return b.cpf
    finally:
        await runtime.close()


@pytest.fixture(scope="module")
def govbr_portal(live_server, tmp_path_factory):  # noqa: ANN001, ANN201
    from govbr_auth.core.transactions import generate_transaction_secret

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        cpf = pool.submit(
            asyncio.run, _register_person(live_server.env["GUARITA_DATABASE_URL"])
        ).result()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registered = live_server.cli(
        "clients", "add", "--name", "Portal feito para o gov.br", "--profile", "govbr",
        "--redirect-uri", url + "/auth/govbr/callback",
        "--redirect-uri", url + "/consignado/volta",
        "--post-logout-redirect-uri", url + "/saiu",
    )
    assert registered["profile"] == "govbr" and registered["warnings"]
    govbr = live_server.base_url + "/govbr"
    directory = tmp_path_factory.mktemp("govbr-portal")
    env = {
        **{k: v for k, v in live_server.env.items() if not k.startswith("GOVBR_")},
        "PORTAL_URL": url,
        "PORTAL_CATALOGUE_URL": govbr + "/confiabilidades",
        # The only change from gov.br's settings: the host (and the client's credentials).
        "GOVBR_PROVIDER": "official",
        "GOVBR_CLIENT_ID": registered["client_id"],
        "GOVBR_CLIENT_SECRET": registered["client_secret"],
        "GOVBR_REDIRECT_URI": url + "/auth/govbr/callback",
        "GOVBR_SCOPE": SCOPE,
        "GOVBR_TRANSACTION_SECRET": generate_transaction_secret(),
        "GOVBR_AUTHORIZATION_URL": govbr + "/authorize",
        "GOVBR_TOKEN_URL": govbr + "/token",
        "GOVBR_USERINFO_URL": govbr + "/userinfo/",
        "GOVBR_ISSUER": govbr + "/",
        "GOVBR_JWKS_URL": govbr + "/jwk",
        "GOVBR_LOGOUT_URL": govbr + "/logout",
        "GOVBR_POST_LOGOUT_REDIRECT_URI": url + "/saiu",
    }
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "tests" / "interop"),
            "--factory", "govbr_portal:create_app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning",
        ],
        env=env,
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=open(directory / "portal.log", "w"),  # noqa: SIM115
    )
    try:
        wait_until_up(url + "/", process)
        yield url, cpf
    finally:
        stop(process)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def _follow(browser: httpx.AsyncClient, start: str, stop_at: str) -> httpx.Response:
    """Follows redirects by hand (across the two servers) until one leaves for ``stop_at``."""
    response = await browser.get(start)
    for _ in range(12):
        if response.status_code not in (301, 302, 303, 307):
            return response
        location = response.headers["location"]
        target = location if urlsplit(location).scheme else str(response.url.join(location))
        if target.startswith(stop_at):
            return response
        response = await browser.get(target)
    raise AssertionError("redirecionamentos demais")


async def _sign_in(browser: httpx.AsyncClient, server, portal: str) -> dict:  # noqa: ANN001
    """Entrar com gov.br → Guarita's sign-in page (or single sign-on) → the library's callback,
    which exchanges the code, checks the ID token against /govbr/jwk and reads UserInfo."""
    person = dataclasses.replace(server, identifier=CARD)
    back = await browse_sign_in(
        browser, portal + "/auth/govbr/login", person, portal + "/auth/govbr/callback"
    )
    done = await browser.get(back.headers["location"])
    assert done.status_code == 303, done.text  # 4xx: the library refused something
    home = (await browser.get(portal + "/")).json()
    assert home["signed_in"] is True
    return home


async def test_govbr_auth_portal_signs_in_and_out(live_server, govbr_portal):
    portal, cpf = govbr_portal
    async with httpx.AsyncClient(timeout=30) as browser:
        home = await _sign_in(browser, live_server, portal)
        claims, user = home["claims"], home["user"]
        assert claims["iss"] == live_server.base_url + "/govbr/"
        assert claims["sub"] == cpf == user["sub"]
        assert claims["amr"] == ["passwd"]
        info = claims["reliability_info"]
        assert info["level"] == "bronze"
        assert {r["id"] for r in info["reliabilities"]} <= {"201"}  # registry match, if recorded
        assert user["name"] == "Severina Lima da Silva"
        assert user["email"] == "severina@example.com" and user["email_verified"] is True
        # Single sign-on: Guarita's own pages know the person too.
        assert (await browser.get(live_server.base_url + "/conta")).status_code == 200

        # Sair: the portal, then gov.br's logout with post_logout_redirect_uri alone.
        gone = await _follow(browser, portal + "/sair", portal + "/saiu")
        assert gone.headers["location"] == portal + "/saiu"
        assert (await browser.get(live_server.base_url + "/conta")).status_code == 303
        assert (await browser.get(portal + "/")).json() == {"signed_in": False}


@pytest.fixture(scope="module")
def bank(live_server, govbr_portal):  # noqa: ANN001, ANN201
    """"Banco Exemplo" (node-oidc-provider on loopback, tests/support/upstream.py), registered
    in the live server as a bank with COMPE code 001, with an account for the person's CPF."""
    from tests.support import upstream as support

    if not support.available():
        pytest.skip("node e frontend/node_modules/oidc-provider são necessários (make setup)")
    _, cpf = govbr_portal
    callback = live_server.base_url + "/upstream/callback"
    with support.node_provider([support.client_metadata(callback)]) as provider:
        provider.add_account(cpf, BANK_PASSWORD, f"cliente-{cpf}", cpf=cpf)

        async def register(url: str) -> None:
            from guarita.runtime import Runtime
            from guarita.services import upstreams
            from guarita.storage.audit import RequestContext
            from tests.conftest import make_settings

            runtime = Runtime.build(make_settings(url))
            try:
                await upstreams.add(runtime, upstreams.ProviderSpec(
                    kind="bank", name="Banco Exemplo", code="001", issuer=provider.issuer,
                    client_id=support.CLIENT_ID, client_secret=support.CLIENT_SECRET,
                ), RequestContext(actor="test"))
            finally:
                await runtime.close()

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, register(live_server.env["GUARITA_DATABASE_URL"])).result()
        yield provider


async def test_govbr_auth_portal_leads_through_the_catalogue(live_server, govbr_portal, bank):
    """"Autorizar consignado" needs prata: the portal sends a bronze person to gov.br's
    catalogue URL, which leads to "Para continuar, confirme sua identidade"; the person
    validates at their bank and comes back to the portal, whose new ID token says ``silver``
    with Banco do Brasil's seal."""
    from tests.support.upstream import sign_in_at_bank

    portal, cpf = govbr_portal
    async with httpx.AsyncClient(timeout=30) as browser:
        home = await _sign_in(browser, live_server, portal)
        assert home["claims"]["reliability_info"]["level"] == "bronze"
        led = await _follow(browser, portal + "/consignado", live_server.base_url + "/nada")
        assert led.status_code == 200 and led.url.path == "/confirmar-identidade", led.url
        assert "confirme sua identidade" in led.text.lower()
        assert "Portal feito para o gov.br" in led.text  # the service is named
        # "Pelo seu banco": the form the page shows, as a browser submits it.
        form = {
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', led.text).group(1),
            "pedido": re.search(r'name="pedido" value="([^"]+)"', led.text).group(1),
            "provider": re.search(r'name="provider" value="([^"]+)"', led.text).group(1),
        }
        to_bank = await browser.post(live_server.base_url + "/confirmar-identidade/banco",
                                     data=form)
        assert to_bank.status_code == 303 and to_bank.headers["location"].startswith(bank.issuer)
        answer = await sign_in_at_bank(to_bank.headers["location"], cpf, BANK_PASSWORD)
        # Back at Guarita, to the page, to the catalogue, to the portal, which signs in again.
        back = await _follow(
            browser,
            live_server.base_url + "/upstream/callback?" + urlencode(answer),
            portal + "/auth/govbr/callback",
        )
        # The page after the bank: a met level goes on (a redirect), else it says so (a 200).
        assert "location" in back.headers, (back.url, _text(back.text)[:600])
        assert back.headers["location"].startswith(portal + "/auth/govbr/callback")
        done = await browser.get(back.headers["location"])
        assert done.status_code == 303, done.text
        info = (await browser.get(portal + "/")).json()["claims"]["reliability_info"]
        assert info["level"] == "silver"
        assert "602" in [r["id"] for r in info["reliabilities"]]  # Banco do Brasil's seal
        assert (await browser.get(portal + "/consignado")).json() == {
            "autorizado": True, "level": "silver",
        }
