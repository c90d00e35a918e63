"""Provider metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2.

Built once per process into bytes with a strong ``ETag``; both well-known addresses serve the
same document (RFC 8414 §3 allows the OpenID path as the metadata location).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from guarita.oidc import acr, client_auth, pkce
from guarita.oidc.claims import CLAIMS_SUPPORTED, OFFLINE_ACCESS, SCOPE_CLAIMS
from guarita.oidc.clients import AUTH_METHODS, GRANT_TYPES, ID_TOKEN_ALGS
from guarita.oidc.issuer import issuer
from guarita.runtime import Runtime

ENDPOINTS = {
    "authorization_endpoint": "/oauth/authorize",
    "token_endpoint": "/oauth/token",
    "userinfo_endpoint": "/oauth/userinfo",
    "jwks_uri": "/oauth/jwks",
    "introspection_endpoint": "/oauth/introspect",
    "revocation_endpoint": "/oauth/revoke",
    "end_session_endpoint": "/oauth/logout",
}
_CACHE = "oidc.discovery"


def metadata(runtime: Runtime) -> dict:
    base = issuer(runtime)
    settings = runtime.settings.oidc
    secret_and_key = [m for m in AUTH_METHODS if m != "none"]
    return {
        "issuer": base,
        **{name: base + path for name, path in ENDPOINTS.items()},
        "scopes_supported": [*SCOPE_CLAIMS, OFFLINE_ACCESS],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGS),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(client_auth.ASSERTION_ALGS),
        "introspection_endpoint_auth_methods_supported": secret_and_key,
        "introspection_endpoint_auth_signing_alg_values_supported": list(
            client_auth.ASSERTION_ALGS
        ),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(client_auth.ASSERTION_ALGS),
        "code_challenge_methods_supported": list(pkce.METHODS),
        "claims_supported": CLAIMS_SUPPORTED,
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "acr_values_supported": [*acr.VALUES, acr.MFA],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["pt-BR", "en", "es"],
        "claims_locales_supported": ["pt-BR"],
        "authorization_response_iss_parameter_supported": True,
        "access_token_signing_alg_values_supported": [settings.access_token_alg],
        # Front-Channel Logout 1.0 §3 and Back-Channel Logout 1.0 §2.1: iss and sid are sent
        # in every front-channel frame, sid in every logout token and every ID token.
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


@dataclass(frozen=True)
class Prebuilt:
    body: bytes
    etag: str


def prebuilt(runtime: Runtime) -> Prebuilt:
    found = runtime.extras.get(_CACHE)
    if found is None:
        body = json.dumps(metadata(runtime), separators=(",", ":")).encode()
        found = runtime.extras[_CACHE] = Prebuilt(
            body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        )
    return found
