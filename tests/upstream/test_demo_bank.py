"""``guarita demo --bank`` tried as a new user would (``docs/upstreams.md`` › Demo): the demo is
loaded, "Banco Exemplo" and the gov.br stand-in serve on the next free ports, and Benedito — an
old-portal account with no e-mail and no phone, who until now could only call the central —
recovers his password through the bank against a real ``guarita serve``, then signs in with
gov.br (linking it once with his new password)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from guarita.services.demo_bank import DEMO_BANK_PASSWORD, DEMO_GOVBR_PASSWORD
from tests.support import upstream as support
from tests.support.html import csrf_of
from tests.support.server import GUARITA, ROOT, free_port, migrate, running_server, server_env

NEW = "uma frase nova para o meu acesso"


def test_demo_bank_lets_benedito_recover_through_his_bank():
    if not support.available():
        pytest.skip("node e frontend/node_modules/oidc-provider são necessários (make setup)")
    from guarita.services.demo import demo_people

    benedito = next(p for p in demo_people() if p.card_number == "200100068")
    directory = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{directory}/demo.db"
    migrate(url)
    port, bank_port = free_port(), free_port()
    env = server_env(url, GUARITA_BASE_URL=f"http://127.0.0.1:{port}", GUARITA_ENV="development",
                     GUARITA_DEMO_BANK_PORT=str(bank_port), GUARITA_CAPTCHA_COST="50")
    # A session of its own: Ctrl+C reaches the command and both providers at once; the test's
    # SIGTERM must too, or the node processes would outlive it.
    demo = subprocess.Popen([str(GUARITA), "demo", "--bank"], env=env, cwd=ROOT,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        issuer = f"http://127.0.0.1:{bank_port}"
        deadline = time.monotonic() + 90
        while True:
            assert demo.poll() is None, demo.stderr.read()[-2000:]
            try:
                if httpx.get(issuer + "/.well-known/openid-configuration", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "o banco de demonstração não subiu"
            time.sleep(0.2)
        with running_server(env, port=port) as (base, _process):
            asyncio.run(_recover(base, benedito))
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=10)


async def _recover(base: str, benedito) -> None:  # noqa: ANN001
    async with httpx.AsyncClient(base_url=base, timeout=20) as guarita:
        captcha = (await guarita.get("/api/v1/captcha")).json()
        started = await guarita.post("/api/v1/recoveries", json={
            "identifier": benedito.card_number, "captcha": solve_from(captcha)})
        assert started.status_code == 201, started.text
        methods = {m["id"]: m for m in started.json()["methods"]}
        assert [p["name"] for p in methods["bank"]["providers"]] == [
            "Banco Exemplo (demonstração)"]
        rid = started.json()["recovery_id"]
        to_bank = await guarita.post(f"/api/v1/recoveries/{rid}/upstream",
                                     json={"provider": "banco-exemplo-demo"})
        assert to_bank.status_code == 201, to_bank.text
        back = await support.sign_in_at_bank(to_bank.json()["authorization_url"],
                                             benedito.cpf, DEMO_BANK_PASSWORD)
        returned = await guarita.get("/upstream/callback", params=back)
        assert returned.status_code == 303, returned.text
        assert returned.headers["location"] == "/esqueci-minha-senha/nova-senha"
        new_rid = returned.cookies["guarita_recovery"]
        done = await guarita.post(f"/api/v1/recoveries/{new_rid}/password",
                                  json={"password": NEW, "password_confirmation": NEW})
        assert done.status_code == 204, done.text
        signed = await guarita.post("/api/v1/sessions", json={
            "identifier": benedito.card_number, "password": NEW})
        assert signed.status_code == 201, signed.text

    async with httpx.AsyncClient(base_url=base, timeout=20) as browser:
        page = await browser.get("/entrar")
        assert "Entrar com gov.br" in page.text
        to_govbr = await browser.post("/entrar/govbr", data={
            "provider": "gov-br-demo", "next": "", "csrf_token": csrf_of(page.text)})
        assert to_govbr.status_code == 303, to_govbr.text
        back = await support.sign_in_at_bank(to_govbr.headers["location"], benedito.cpf,
                                             DEMO_GOVBR_PASSWORD)
        returned = await browser.get("/upstream/callback", params=back)
        assert returned.headers.get("location") == "/entrar/govbr/vincular", returned.text
        confirm = await browser.get("/entrar/govbr/vincular")
        linked = await browser.post("/entrar/govbr/vincular", data={
            "password": NEW, "csrf_token": csrf_of(confirm.text)})
        assert linked.status_code == 303 and linked.headers["location"] == "/conta", linked.text
        assert (await browser.get("/conta")).status_code == 200


def solve_from(challenge: dict) -> str:
    """The ALTCHA answer to a challenge the server gave, as the widget computes it."""
    import altcha

    parsed = altcha.v2.Challenge.from_dict(challenge)
    return altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()
