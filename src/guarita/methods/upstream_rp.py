"""Guarita as an OpenID Connect relying party of a bank or gov.br (``docs/upstreams.md``).

The protocol, nothing else: discovery and JWKS read from the issuer and cached (the JWKS fetched
again for an unknown ``kid``), the authorization request with PKCE S256, ``state`` and ``nonce``
(pushed first, RFC 9126, when the provider requires it), the callback's ``iss`` checked
(RFC 9207), the code redeemed with the client's authentication (OpenID Connect Core §9), the ID
token validated (Core §3.1.3.7) with joserfc, and userinfo read when the CPF is not in the ID
token (Core §5.3). Every exchange is bounded by ``GUARITA_UPSTREAM__TIMEOUT_SECONDS``; any
surprise raises :class:`UpstreamProblem` with a stable ``reason`` — nothing fails open.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet, RSAKey
from joserfc.jws import extract_compact

# Asymmetric algorithms only: ``none`` proves nothing and HS* would be keyed with the client
# secret, which the provider's other clients' admins may know (RFC 9700 §2.7; Core §10.1).
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                "ES512", "EdDSA")
# The client assertion (RFC 7523) Guarita signs: PS256 is what Open Finance Brasil asks for.
ASSERTION_ALG = "PS256"


class UpstreamProblem(Exception):  # noqa: N818 - a refusal, with a reason the audit keeps
    """The provider's answer cannot be trusted; ``reason`` is stable (audit, tests)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Provider:
    """One registered provider as the relying party uses it (secrets unsealed, kept out of
    ``repr`` so they never reach a log)."""

    id: str
    kind: str
    name: str
    issuer: str
    client_id: str
    auth_method: str
    scopes: str
    cpf_claim: str
    code: str | None = None
    require_par: bool = False
    client_secret: str | None = field(default=None, repr=False)
    private_jwk: Mapping[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Pending:
    """What the callback needs to check the answer to one authorization request."""

    provider_id: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_at: int

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Asserted:
    """What the provider said about the person, once every check passed."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]
    id_token_claims: Mapping[str, Any]


# -- HTTP, bounded ---------------------------------------------------------------------------
def _client(settings: Any) -> httpx.AsyncClient:
    seconds = float(settings.upstream.timeout_seconds)
    return httpx.AsyncClient(timeout=httpx.Timeout(seconds), follow_redirects=False,
                             headers={"Accept": "application/json"})


async def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code != 200 and response.status_code != 201:
        raise UpstreamProblem(f"{what}_failed", f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise UpstreamProblem(f"{what}_failed", "resposta não é JSON") from exc
    if not isinstance(body, dict):
        raise UpstreamProblem(f"{what}_failed", "resposta não é um objeto JSON")
    return body


async def _get(settings: Any, url: str, what: str, **kwargs: Any) -> httpx.Response:
    try:
        async with _client(settings) as http:
            return await http.get(url, **kwargs)
    except httpx.TimeoutException as exc:
        raise UpstreamProblem("timeout", f"{what}: {url}") from exc
    except httpx.HTTPError as exc:
        raise UpstreamProblem("unreachable", f"{what}: {type(exc).__name__}") from exc


async def _post(settings: Any, url: str, what: str, **kwargs: Any) -> httpx.Response:
    try:
        async with _client(settings) as http:
            return await http.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        raise UpstreamProblem("timeout", f"{what}: {url}") from exc
    except httpx.HTTPError as exc:
        raise UpstreamProblem("unreachable", f"{what}: {type(exc).__name__}") from exc


# -- discovery and JWKS, cached per process ----------------------------------------------------
_DISCOVERY: dict[str, tuple[float, dict[str, Any]]] = {}
_JWKS: dict[str, tuple[float, dict[str, Any]]] = {}


def forget_caches() -> None:
    """Drops every cached document (a provider re-registered, tests)."""
    _DISCOVERY.clear()
    _JWKS.clear()


async def discovery(settings: Any, issuer: str) -> dict[str, Any]:
    """The provider's metadata (OpenID Connect Discovery 1.0 §4), checked and cached."""
    now = time.monotonic()
    cached = _DISCOVERY.get(issuer)
    if cached is not None and now - cached[0] < settings.upstream.discovery_max_age_seconds:
        return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = await _json(await _get(settings, url, "discovery"), "discovery")
    # Discovery §4.3: the issuer in the document must be exactly the one configured, or a
    # provider could speak for another.
    if document.get("issuer") != issuer:
        raise UpstreamProblem("discovery_failed", "issuer do documento difere do cadastrado")
    for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(needed), str):
            raise UpstreamProblem("discovery_failed", f"sem {needed}")
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise UpstreamProblem("discovery_failed", "o provedor não aceita PKCE S256")
    _DISCOVERY[issuer] = (now, document)
    return document


async def _fetch_jwks(settings: Any, uri: str) -> dict[str, Any]:
    document = await _json(await _get(settings, uri, "jwks"), "jwks")
    if not isinstance(document.get("keys"), list):
        raise UpstreamProblem("jwks_failed", "sem keys")
    _JWKS[uri] = (time.monotonic(), document)
    return document


async def jwks(settings: Any, uri: str, kid: str | None) -> KeySet:
    """The provider's keys; fetched again when ``kid`` is unknown (a rotation), at most every
    ``jwks_refresh_min_seconds`` so forged tokens cannot turn Guarita into a flood."""
    now = time.monotonic()
    cached = _JWKS.get(uri)
    document = cached[1] if cached else None
    age = now - cached[0] if cached else None
    known = document is not None and (kid is None or any(
        k.get("kid") == kid for k in document["keys"]))
    if (document is None or age >= settings.upstream.jwks_max_age_seconds
            or (not known and age >= settings.upstream.jwks_refresh_min_seconds)):
        document = await _fetch_jwks(settings, uri)
    usable = [k for k in document["keys"] if k.get("use", "sig") == "sig"
              and k.get("kty") in ("RSA", "EC", "OKP")]
    try:
        return KeySet.import_key_set({"keys": usable})
    except (JoseError, ValueError, TypeError) as exc:
        raise UpstreamProblem("jwks_failed", "chaves ilegíveis") from exc


# -- the authorization request ---------------------------------------------------------------
def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def requires_par(provider: Provider, document: Mapping[str, Any]) -> bool:
    return provider.require_par or bool(document.get("require_pushed_authorization_requests"))


async def authorization_request(settings: Any, provider: Provider,
                                redirect_uri: str) -> tuple[str, Pending]:
    """The URL to send the person to, and what the callback must check (RFC 9700 §2.1: PKCE
    S256 and ``state``; Core §3.1.2.1: ``nonce``)."""
    document = await discovery(settings, provider.issuer)
    pending = Pending(provider_id=provider.id, state=secrets.token_urlsafe(32),
                      nonce=secrets.token_urlsafe(32), code_verifier=secrets.token_urlsafe(48),
                      redirect_uri=redirect_uri, created_at=int(time.time()))
    params = {
        "response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
        "scope": provider.scopes, "state": pending.state, "nonce": pending.nonce,
        "code_challenge": _challenge(pending.code_verifier), "code_challenge_method": "S256",
    }
    endpoint = document["authorization_endpoint"]
    if requires_par(provider, document):
        par = document.get("pushed_authorization_request_endpoint")
        if not isinstance(par, str):
            raise UpstreamProblem("par_failed", "PAR exigido mas sem endpoint")
        data, headers = client_authentication(provider, dict(params))
        pushed = await _json(await _post(settings, par, "par", data=data, headers=headers), "par")
        request_uri = pushed.get("request_uri")
        if not isinstance(request_uri, str):
            raise UpstreamProblem("par_failed", "sem request_uri")
        # RFC 9126 §4: only client_id and request_uri travel through the browser.
        params = {"client_id": provider.client_id, "request_uri": request_uri}
    joiner = "&" if urlsplit(endpoint).query else "?"
    return endpoint + joiner + urlencode(params, quote_via=quote), pending


# -- client authentication at the provider ------------------------------------------------------
def client_authentication(provider: Provider,
                          data: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers that authenticate Guarita (Core §9; RFC 6749 §2.3.1; RFC 7523)."""
    headers: dict[str, str] = {}
    method = provider.auth_method
    if method == "client_secret_basic":
        if not provider.client_secret:
            raise UpstreamProblem("client_auth_failed", "sem segredo")
        # RFC 6749 §2.3.1: both parts form-encoded before Basic.
        pair = f"{quote(provider.client_id, safe='')}:{quote(provider.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif method == "client_secret_post":
        if not provider.client_secret:
            raise UpstreamProblem("client_auth_failed", "sem segredo")
        data.update(client_id=provider.client_id, client_secret=provider.client_secret)
    elif method == "private_key_jwt":
        data.update(client_id=provider.client_id,
                    client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    client_assertion=client_assertion(provider))
    else:
        raise UpstreamProblem("client_auth_failed", f"método desconhecido {method}")
    return data, headers


def client_assertion(provider: Provider) -> str:
    """RFC 7523 §3: signed by the provider's own key pair, audience the issuer (accepted for the
    token and PAR endpoints alike; FAPI 2.0 §5.3.2.1)."""
    if not provider.private_jwk:
        raise UpstreamProblem("client_auth_failed", "sem chave privada")
    key = RSAKey.import_key(dict(provider.private_jwk))
    now = int(time.time())
    claims = {"iss": provider.client_id, "sub": provider.client_id, "aud": provider.issuer,
              "jti": secrets.token_urlsafe(24), "iat": now, "exp": now + 60}
    header = {"alg": ASSERTION_ALG, "kid": provider.private_jwk.get("kid"), "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[ASSERTION_ALG])


# -- the callback --------------------------------------------------------------------------
def check_authorization_response(provider: Provider, document: Mapping[str, Any],
                                 params: Mapping[str, str]) -> str:
    """The ``code`` of the response, once ``iss`` (RFC 9207 §2.4) and ``error`` are checked."""
    issued_by = params.get("iss")
    if issued_by is not None and issued_by != provider.issuer:
        raise UpstreamProblem("wrong_issuer", "iss da resposta difere do emissor")
    if issued_by is None and document.get("authorization_response_iss_parameter_supported"):
        # RFC 9207 §2.4: a provider that announces iss must send it; its absence is a mix-up.
        raise UpstreamProblem("wrong_issuer", "resposta sem iss")
    error = params.get("error")
    if error:
        raise UpstreamProblem("cancelled" if error == "access_denied" else "error_response",
                              error[:64])
    code = params.get("code")
    if not code:
        raise UpstreamProblem("error_response", "resposta sem code")
    return code


async def redeem(settings: Any, provider: Provider, pending: Pending,
                 params: Mapping[str, str]) -> Asserted:
    """Checks the callback's parameters, redeems the code and validates what came back."""
    document = await discovery(settings, provider.issuer)
    code = check_authorization_response(provider, document, params)
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": pending.redirect_uri, "code_verifier": pending.code_verifier}
    data, headers = client_authentication(provider, form)
    answer = await _post(settings, document["token_endpoint"], "token", data=data,
                         headers=headers)
    if answer.status_code != 200:
        raise UpstreamProblem("token_failed", f"HTTP {answer.status_code}")
    tokens = await _json(answer, "token")
    raw = tokens.get("id_token")
    if not isinstance(raw, str):
        raise UpstreamProblem("token_failed", "sem id_token")
    claims = await validate_id_token(settings, provider, document, raw, pending.nonce)
    merged = dict(claims)
    if provider.cpf_claim not in claims:
        merged.update(await userinfo(settings, document, tokens, claims["sub"]))
    return Asserted(issuer=provider.issuer, subject=claims["sub"], claims=merged,
                    id_token_claims=claims)


def _allowed_algs(document: Mapping[str, Any]) -> list[str]:
    offered = document.get("id_token_signing_alg_values_supported")
    if isinstance(offered, list):
        return [a for a in SIGNING_ALGS if a in offered]
    return ["RS256"]  # Core §15.1: RS256 is the default every provider supports


async def validate_id_token(settings: Any, provider: Provider, document: Mapping[str, Any],
                            raw: str, nonce: str) -> dict[str, Any]:
    """OpenID Connect Core §3.1.3.7, in order: algorithm, signature, ``iss``, ``aud``/``azp``,
    ``exp``, ``iat``, ``nonce``, ``sub``."""
    try:
        header = extract_compact(raw.encode()).protected
    except (JoseError, ValueError) as exc:
        raise UpstreamProblem("bad_id_token", "ilegível") from exc
    alg = header.get("alg")
    allowed = _allowed_algs(document)
    if alg not in allowed:
        raise UpstreamProblem("alg_refused", str(alg)[:16])
    kid = header.get("kid")
    keys = await jwks(settings, document["jwks_uri"], kid)
    try:
        token = jwt.decode(raw, keys, algorithms=allowed)
    except BadSignatureError as exc:
        raise UpstreamProblem("bad_signature") from exc
    except (JoseError, ValueError) as exc:
        raise UpstreamProblem("bad_signature", type(exc).__name__) from exc
    claims = dict(token.claims)
    _check_claims(settings, provider, claims, nonce)
    return claims


def _check_claims(settings: Any, provider: Provider, claims: dict[str, Any], nonce: str) -> None:
    skew = settings.upstream.clock_skew_seconds
    now = int(time.time())
    if claims.get("iss") != provider.issuer:
        raise UpstreamProblem("wrong_issuer", "iss do ID token")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if provider.client_id not in audiences:
        raise UpstreamProblem("wrong_audience")
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise UpstreamProblem("wrong_audience", "azp")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise UpstreamProblem("bad_id_token", "sem exp ou iat")
    if exp + skew < now:
        raise UpstreamProblem("expired_id_token")
    if iat - skew > now or now - iat > settings.upstream.max_id_token_age_seconds + skew:
        raise UpstreamProblem("expired_id_token", "iat fora da janela")
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise UpstreamProblem("nonce_mismatch")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise UpstreamProblem("bad_id_token", "sem sub")


async def userinfo(settings: Any, document: Mapping[str, Any], tokens: Mapping[str, Any],
                   subject: str) -> dict[str, Any]:
    """Core §5.3; §5.3.2: the ``sub`` of userinfo must be the ID token's, or it is someone
    else's data."""
    endpoint = document.get("userinfo_endpoint")
    access_token = tokens.get("access_token")
    if not isinstance(endpoint, str) or not isinstance(access_token, str):
        raise UpstreamProblem("cpf_missing", "sem userinfo")
    answer = await _get(settings, endpoint, "userinfo",
                        headers={"Authorization": f"Bearer {access_token}"})
    body = await _json(answer, "userinfo")
    if body.get("sub") != subject:
        raise UpstreamProblem("userinfo_failed", "sub difere do ID token")
    return body


def generate_key_pair(kid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A 2048-bit RSA pair for ``private_key_jwt`` (PS256): (private JWK, public JWK)."""
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": ASSERTION_ALG},
                              private=True)
    return key.as_dict(private=True), key.as_dict(private=False)
