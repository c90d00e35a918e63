"""Client authentication at the token, introspection and revocation endpoints.

``client_secret_basic`` and ``client_secret_post`` (RFC 6749 §2.3.1), ``none`` for public
clients that prove possession with PKCE instead (RFC 8252 §8.4), and ``private_key_jwt``
(OpenID Connect Core 1.0 §9; RFC 7523 §3): a JWT signed with the client's own key, whose
``jti`` is remembered until it expires so it cannot be replayed. A client must use the method it
was registered with (RFC 7591 §2 ``token_endpoint_auth_method``), and only one method per
request (RFC 6749 §2.3) — except that a client with a secret may send it either way: in the
``Authorization: Basic`` header or in the form. Both carry the same secret over the same TLS
connection, RFC 6749 §2.3.1 lets the server accept the form too, Keycloak and
node-oidc-provider do, and the libraries people use pick one without asking (pyoidc and
openid-client default to Basic, mozilla-django-oidc to the form; docs/oidc.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError

from guarita.oidc import clients
from guarita.oidc.clients import Client
from guarita.oidc.errors import invalid_client, invalid_request
from guarita.runtime import Runtime
from guarita.storage.tables import KeyValue

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Asymmetric only: ``none`` and the HMAC family can never authenticate a client here.
ASSERTION_ALGS = ("RS256", "PS256", "ES256")
JTI_NAMESPACE = "oidc_jti"


@dataclass(frozen=True)
class Presented:
    method: str
    client_id: str
    secret: str | None = None
    assertion: str | None = None


def _basic(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_client("cabecalho Authorization Basic malformado", basic=True) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_client("cabecalho Authorization Basic malformado", basic=True)
    # §2.3.1: both halves are form-urlencoded before Base64.
    return unquote_plus(client_id), unquote_plus(secret)


def _unverified_sub(assertion: str) -> str:
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims.get("sub") or "")
    except (IndexError, ValueError, AttributeError, TypeError):
        raise invalid_client("client_assertion malformado") from None


def presented(authorization: str | None, form: dict[str, str]) -> Presented:
    """Which method the request used and the credentials it carried (no checking yet)."""
    has_basic = bool(authorization and authorization[:6].lower() == "basic ")
    has_secret = "client_secret" in form
    has_assertion = "client_assertion" in form or "client_assertion_type" in form
    if has_basic + has_secret + has_assertion > 1:
        raise invalid_request("use um so metodo de autenticacao do cliente")
    form_id = form.get("client_id", "")
    if has_basic:
        client_id, secret = _basic(authorization)
        if form_id and form_id != client_id:
            raise invalid_client("client_id diferente do usado na autenticacao", basic=True)
        return Presented("client_secret_basic", client_id, secret=secret)
    if has_secret:
        return Presented("client_secret_post", form_id, secret=form["client_secret"])
    if has_assertion:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise invalid_request("client_assertion_type nao suportado")
        assertion = form.get("client_assertion", "")
        client_id = _unverified_sub(assertion)
        if form_id and form_id != client_id:
            raise invalid_client("client_id diferente do sub da client_assertion")
        return Presented("private_key_jwt", client_id, assertion=assertion)
    if not form_id:
        raise invalid_client("cliente nao identificado")
    return Presented("none", form_id)


# -- checks, in order (house style 5) ---------------------------------------------------------
def _method_registered(client: Client, given: Presented) -> None:
    if given.method in clients.SECRET_METHODS and client.auth_method in clients.SECRET_METHODS:
        return
    if given.method != client.auth_method:
        raise invalid_client(
            f"este cliente se autentica com {client.auth_method}",
            basic=given.method == "client_secret_basic",
        )


def _secret_matches(client: Client, given: Presented) -> None:
    if given.method in clients.SECRET_METHODS and not client.secret_matches(given.secret or ""):
        raise invalid_client(basic=given.method == "client_secret_basic")


def _assertion_claims(
    runtime: Runtime, client: Client, given: Presented, audiences: tuple[str, ...]
) -> dict:
    try:
        keys = KeySet.import_key_set(client.jwks or {"keys": []})
        token = jwt.decode(given.assertion or "", keys, algorithms=list(ASSERTION_ALGS))
    except (JoseError, ValueError, TypeError, KeyError):
        raise invalid_client("client_assertion com assinatura invalida") from None
    claims = token.claims
    settings = runtime.settings.oidc
    now = int(time.time())
    aud = claims.get("aud")
    aud_list = aud if isinstance(aud, list) else [aud]
    if claims.get("iss") != client.id or claims.get("sub") != client.id:
        raise invalid_client("iss e sub da client_assertion devem ser o client_id")
    if not any(a in audiences for a in aud_list):
        raise invalid_client("aud da client_assertion deve ser o emissor ou o endpoint")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp < now - settings.clock_skew_seconds:
        raise invalid_client("client_assertion expirada ou sem exp")
    if exp > now + settings.client_assertion_max_age_seconds + settings.clock_skew_seconds:
        raise invalid_client("client_assertion com validade longa demais")
    if not claims.get("jti"):
        raise invalid_client("client_assertion sem jti")
    return claims


async def _remember_jti(runtime: Runtime, client: Client, claims: dict) -> None:
    """RFC 7523 §3 item 7: a ``jti`` is accepted once, until its assertion expires."""
    key = hashlib.sha256(f"{client.id}\x00{claims['jti']}".encode()).hexdigest()
    expires = datetime.fromtimestamp(
        int(claims["exp"]) + runtime.settings.oidc.clock_skew_seconds, UTC
    )
    try:
        async with runtime.db.transaction() as session:
            session.add(KeyValue(namespace=JTI_NAMESPACE, key=key, value=b"", expires_at=expires))
    except IntegrityError:
        raise invalid_client("client_assertion ja usada (jti repetido)") from None


async def authenticate(runtime: Runtime, given: Presented, audiences: tuple[str, ...]) -> Client:
    """The authenticated client, or ``invalid_client`` (401)."""
    basic = given.method == "client_secret_basic"
    client = await clients.cached(runtime, given.client_id)
    if client is None or not client.active:
        raise invalid_client("cliente desconhecido ou desativado", basic=basic)
    _method_registered(client, given)
    _secret_matches(client, given)
    if given.method == "private_key_jwt":
        claims = _assertion_claims(runtime, client, given, audiences)
        await _remember_jti(runtime, client, claims)
    return client


async def authenticate_request(
    runtime: Runtime, authorization: str | None, form: dict[str, str], audiences: tuple[str, ...]
) -> Client:
    return await authenticate(runtime, presented(authorization, form), audiences)
