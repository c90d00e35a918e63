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
