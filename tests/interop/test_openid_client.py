"""panva's ``openid-client`` v6 (npm) against a running Guarita, through
tests/interop/openid_client.mjs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.interop.conftest import TOTP_CARD

pytestmark = pytest.mark.interop
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("openid_client.mjs")
NODE_MODULES = ROOT / "frontend" / "node_modules"
REDIRECT = "http://127.0.0.1:9/openid-client/callback"
LOGGED_OUT = "http://127.0.0.1:9/openid-client/saiu"


@pytest.fixture(scope="module")
def registered(live_server) -> dict:  # noqa: ANN001
    return live_server.cli(
        "clients",
        "add",
        "--name",
        "Interop openid-client",
        "--redirect-uri",
        REDIRECT,
        "--post-logout-redirect-uri",
        LOGGED_OUT,
        "--scopes",
        "openid profile email beneficiary trust",
    )


def run_openid_client(live_server, registered, **extra: str) -> dict:  # noqa: ANN001
    """Runs tests/interop/openid_client.mjs against the server; its one JSON line of results."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "openid-client").is_dir():
        pytest.fail(
            "node e frontend/node_modules/openid-client são necessários (scripts/setup-frontend.sh)"
        )
    env = {
        **os.environ,
        "ISSUER": live_server.base_url,
        "CLIENT_ID": registered["client_id"],
        "CLIENT_SECRET": registered["client_secret"],
        "REDIRECT_URI": REDIRECT,
        "POST_LOGOUT_REDIRECT_URI": LOGGED_OUT,
        "IDENTIFIER": live_server.identifier,
        "PASSWORD": live_server.password,
        "NODE_PATH": str(NODE_MODULES),
        **extra,
    }
    # An ES module resolves packages from its own folder upwards; run it from a copy placed where
    # frontend/node_modules is found.
    runnable = ROOT / "frontend" / f".interop-openid-client-{os.getpid()}.mjs"
    shutil.copyfile(SCRIPT, runnable)
    try:
        done = subprocess.run(
            [node, str(runnable)], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        runnable.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_openid_client_whole_flow(live_server, registered, auth):
    """The client is registered with client_secret_basic; openid-client's ClientSecretPost
    works as well (docs/oidc.md › Recipes)."""
    result = run_openid_client(live_server, registered, CLIENT_AUTH=auth)
    assert result["issuer"] == live_server.base_url
    claims = result["claims"]
    assert claims["iss"] == live_server.base_url and claims["aud"] == registered["client_id"]
    assert claims["acr"] == "urn:guarita:loa:bronze" and claims["amr"] == ["pwd"] and claims["sid"]
    info = result["userinfo"]
    assert info["sub"] == claims["sub"] and info["name"] == "Joana Darc Ferreira"
    assert info["email"] == "joana@example.com" and info["email_verified"] is True
    assert info["card_number"] == "300400500" and info["trust_level"] == "bronze"
    assert result["refreshed"] == {"different": True, "sub": claims["sub"]}
    # OpenID Connect Core §12.2, checked by openid-client itself; logout used this token.
    assert result["refreshedIdToken"] == {"sub": claims["sub"], "authTime": True}
    assert result["introspectedAfterRevocation"] is False
    assert result["refreshAfterRevocation"] == "invalid_grant"
    assert result["logout"] == {"status": 303, "location": LOGGED_OUT + "?state=ate-logo"}
    assert result["accountAfterLogout"]["status"] == 303
    assert result["accountAfterLogout"]["location"].startswith("/entrar")


def test_openid_client_sees_otp_and_mfa_after_a_totp_sign_in(live_server, registered):
    """A portal asking ``acr_values=urn:guarita:mfa`` of a person with the authenticator app:
    password, then the app's code, and the ID token says ``amr`` otp + mfa (docs/two-step.md)."""
    with httpx.Client(base_url=live_server.base_url, timeout=30) as api:
        signed = api.post("/api/v1/sessions", json={"identifier": TOTP_CARD,
                                                    "password": live_server.password})
        assert signed.status_code == 201, signed.text
        auth = {"Authorization": f"Bearer {signed.json()['session_token']}"}
        started = api.post("/api/v1/me/second-factors/totp", json={}, headers=auth).json()
        secret = started["secret"].replace(" ", "")
        confirmed = api.post("/api/v1/me/second-factors/totp/confirmation", headers=auth, json={
            "enrolment_id": started["enrolment_id"], "code": pyotp.TOTP(secret).now()})
        assert confirmed.status_code == 200, confirmed.text
    result = run_openid_client(live_server, registered, IDENTIFIER=TOTP_CARD,
                               TOTP_SECRET=secret, ACR_VALUES="urn:guarita:mfa")
    claims = result["claims"]
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"]), claims["amr"]
    assert claims["acr"] == "urn:guarita:mfa"


STEP_UP_CARD = "300400502"


async def _bronze_person(url: str) -> int:
    """A third person, bronze, registered straight through the services (as conftest does)."""
    from guarita.runtime import Runtime
    from guarita.services.registration import RegistrationInput, register
    from guarita.storage.audit import RequestContext
    from tests.conftest import make_settings
    from tests.support.captcha import solve
    from tests.support.factories import STRONG, add_beneficiary

    runtime = Runtime.build(make_settings(url))
    try:
        b = await add_beneficiary(runtime, card=STEP_UP_CARD, seed=78, name="Raimundo Nonato Alves",
                                  email="raimundo@example.com", phone=None)
        await register(runtime, RegistrationInput(
            b.card_number, b.cpf, False, b.birth_date.isoformat(), STRONG, STRONG,
            captcha=solve(runtime.settings)), RequestContext(ip="127.0.0.1"))
        return b.id
    finally:
        await runtime.close()


async def _agency_checks_a_document(url: str, beneficiary_id: int) -> None:
    """"Vá a uma agência": a supervisor checks the person's document in person (the desk's
    service on the live server's database), which makes the account prata."""
    from guarita.runtime import Runtime
    from guarita.services import support
    from tests.conftest import make_settings
    from tests.console.helpers import CTX, quick_staff

    runtime = Runtime.build(make_settings(url))
    try:
        member = await quick_staff(runtime, "supervisor", email="supervisora@example.org")
        actor = member.actor()
        reason = support.parse_reason("presencial", None)
        async with runtime.db.read() as session:
            from guarita.storage.tables import Beneficiary

            b = await session.get(Beneficiary, beneficiary_id)
        checked = await support.caller_check(runtime, actor, beneficiary_id, reason=reason,
                                             context=CTX, birth_date=b.birth_date.isoformat(),
                                             cpf=b.cpf, card_number=None)
        assert checked.passed
        await support.record_identity_check(runtime, actor, beneficiary_id, document_type="rg",
                                            document_number="12.345.678-9", reason=reason,
                                            context=CTX)
    finally:
        await runtime.close()


def _in_thread(coroutine):  # noqa: ANN001, ANN202
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_openid_client_acr_step_up_and_prompt_none(live_server, registered):
    """docs/oidc.md › Trust levels, as openid-client sees it: ``login_required`` without a
    session, the step-up page for a bronze person asked prata, ``interaction_required`` under
    ``prompt=none`` meanwhile, and after the level was raised an ID token with ``acr`` prata;
    an unknown value is ignored."""
    url = live_server.env["GUARITA_DATABASE_URL"]
    beneficiary_id = _in_thread(_bronze_person(url))
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "openid-client").is_dir():
        pytest.fail("node e frontend/node_modules/openid-client são necessários")
    env = {**os.environ, "ISSUER": live_server.base_url, "CLIENT_ID": registered["client_id"],
           "CLIENT_SECRET": registered["client_secret"], "REDIRECT_URI": REDIRECT,
           "IDENTIFIER": STEP_UP_CARD, "PASSWORD": live_server.password,
           "NODE_PATH": str(NODE_MODULES)}
    script = Path(__file__).with_name("openid_client_step_up.mjs")
    runnable = ROOT / "frontend" / f".interop-openid-client-step-up-{os.getpid()}.mjs"
    shutil.copyfile(script, runnable)
    try:
        process = subprocess.Popen([node, str(runnable)], env=env, stdin=subprocess.PIPE,  # noqa: S603
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = process.stdout.readline()
            assert line.startswith("STEP_UP /confirmar-identidade?pedido="), (
                line, process.stderr.read() if process.poll() is not None else "")
            _in_thread(_agency_checks_a_document(url, beneficiary_id))
            out, err = process.communicate("pronto\n", timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    finally:
        runnable.unlink(missing_ok=True)
    assert process.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["noSession"] == {"error": "login_required"}
    assert result["stepUp"] == {"path": "/confirmar-identidade",
                                "heading": "Para continuar, confirme sua identidade",
                                "status": 200}
    assert result["belowLevel"] == {"error": "interaction_required"}
    claims = result["afterStepUp"]["claims"]
    assert claims["acr"] == "urn:guarita:loa:prata" and claims["aud"] == registered["client_id"]
    assert result["unknown"]["claims"]["acr"] == "urn:guarita:loa:prata"
