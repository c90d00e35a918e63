"""authlib's OAuth 2.0 client (httpx) against a running Guarita: discovery, authorization code
with PKCE, ID token validation, userinfo, refresh, revocation and logout."""

from __future__ import annotations

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.interop.conftest import browse_sign_in

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore:The httpx module is deprecated"),
]
REDIRECT = "http://127.0.0.1:9/authlib/callback"  # never contacted: the test reads the Location
LOGGED_OUT = "http://127.0.0.1:9/authlib/saiu"


@pytest.fixture(scope="module")
def authlib_client(live_server) -> dict:  # noqa: ANN001
    return live_server.cli(
        "clients",
        "add",
        "--name",
        "Interop authlib",
        "--redirect-uri",
        REDIRECT,
        "--post-logout-redirect-uri",
        LOGGED_OUT,
    )


async def test_authlib_whole_flow(live_server, authlib_client):
    base = live_server.base_url
    async with httpx.AsyncClient() as plain:
        metadata = (await plain.get(base + "/.well-known/openid-configuration")).json()
        jwks = (await plain.get(metadata["jwks_uri"])).json()
    assert metadata["issuer"] == base

    async with (
        AsyncOAuth2Client(
            client_id=authlib_client["client_id"],
            client_secret=authlib_client["client_secret"],
            scope="openid profile beneficiary trust",
            redirect_uri=REDIRECT,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        ) as oauth,
        httpx.AsyncClient() as browser,
    ):
        verifier = generate_token(48)
        nonce = generate_token(20)
        url, state = oauth.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        back = await browse_sign_in(browser, url, live_server, REDIRECT)
        callback = back.headers["location"]
        token = await oauth.fetch_token(
            metadata["token_endpoint"],
            authorization_response=callback,
            code_verifier=verifier,
            state=state,
        )
        assert {"access_token", "id_token", "refresh_token"} <= set(token)

        # ID token: signature against the JWKS, then authlib's own OpenID checks.
        decoded = jwt.decode(
            token["id_token"],
            KeySet.import_key_set(jwks),
            algorithms=metadata["id_token_signing_alg_values_supported"],
        )
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"values": [base]}},
            {
                "nonce": nonce,
                "client_id": authlib_client["client_id"],
                "access_token": token["access_token"],
            },
        )
        claims.validate(leeway=5)
        assert claims["acr"] == "urn:guarita:loa:bronze" and claims["amr"] == ["pwd"]

        info = (await oauth.get(metadata["userinfo_endpoint"])).json()
        assert info["sub"] == claims["sub"] and info["name"] == "Joana Darc Ferreira"
        assert info["card_number"] == "300400500" and info["trust_level"] == "bronze"

        refreshed = await oauth.refresh_token(metadata["token_endpoint"])
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert (await oauth.get(metadata["userinfo_endpoint"])).status_code == 200

        revoked = await oauth.revoke_token(
            metadata["revocation_endpoint"],
            token=refreshed["refresh_token"],
            token_type_hint="refresh_token",
        )
        assert revoked.status_code == 200
        introspected = await oauth.introspect_token(
            metadata["introspection_endpoint"], token=refreshed["access_token"]
        )
        assert introspected.json() == {"active": False}

        logout = await browser.get(
            metadata["end_session_endpoint"],
            params={
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": LOGGED_OUT,
                "state": "tchau",
            },
        )
        assert (
            logout.status_code == 303 and logout.headers["location"] == LOGGED_OUT + "?state=tchau"
        )
        assert (await browser.get(base + "/conta")).headers["location"].startswith("/entrar")
