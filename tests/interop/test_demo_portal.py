"""The demo portal (examples/portal, authlib's Starlette client) signs a beneficiary in and out
through a running Guarita, as ``make run`` serves them side by side."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.interop.conftest import ROOT, browse_sign_in, free_port, stop, wait_until_up

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore:The httpx module is deprecated"),
]


@pytest.fixture(scope="module")
def portal(live_server, tmp_path_factory):  # noqa: ANN001, ANN201
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registered = live_server.cli(
        "clients",
        "ensure-demo-portal",
        "--redirect-uri",
        url + "/callback",
        "--post-logout-redirect-uri",
        url + "/saiu",
    )
    # Idempotent: a second run keeps the client id and gives a fresh secret.
    again = live_server.cli(
        "clients",
        "ensure-demo-portal",
        "--redirect-uri",
        url + "/callback",
        "--post-logout-redirect-uri",
        url + "/saiu",
    )
    assert again["client_id"] == registered["client_id"] == "portal-demo"
    assert again["client_secret"] != registered["client_secret"]
    directory = tmp_path_factory.mktemp("portal")
    env = {
        **live_server.env,
        "PORTAL_URL": url,
        "PORTAL_GUARITA_URL": live_server.base_url,
        "PORTAL_CLIENT_ID": again["client_id"],
        "PORTAL_CLIENT_SECRET": again["client_secret"],
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(ROOT / "examples" / "portal"),
            "--factory",
            "app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=open(directory / "portal.log", "w"),  # noqa: SIM115
    )
    try:
        wait_until_up(url + "/", process)
        yield url
    finally:
        stop(process)


async def test_portal_signs_in_and_out_through_guarita(live_server, portal):
    async with httpx.AsyncClient() as browser:
        home = await browser.get(portal + "/")
        assert "Entrar com a conta do Instituto" in home.text
        # The organisation is named, not Guarita's address.
        assert "mesma conta do Instituto de Previdência Demonstração" in home.text
        assert live_server.base_url not in home.text
        back = await browse_sign_in(browser, portal + "/entrar", live_server, portal + "/callback")
        signed_in = await browser.get(back.headers["location"])
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        page = await browser.get(portal + "/")
        assert (
            "Joana Darc Ferreira" in page.text
            and "300400500" in page.text
            and "Bronze" in page.text
        )
        # Single sign-on: Guarita's own pages know the person too.
        assert (await browser.get(live_server.base_url + "/conta")).status_code == 200

        leaving = await browser.post(portal + "/sair")
        assert leaving.status_code == 302 and leaving.headers["location"].startswith(
            live_server.base_url + "/oauth/logout?"
        )
        at_guarita = await browser.get(leaving.headers["location"])
        assert at_guarita.status_code == 303 and at_guarita.headers["location"].startswith(
            portal + "/saiu?state="
        )
        goodbye = await browser.get(at_guarita.headers["location"])
        assert "Você saiu" in goodbye.text
        assert (await browser.get(live_server.base_url + "/conta")).status_code == 303
        assert "Entrar com a conta do Instituto" in (await browser.get(portal + "/")).text
