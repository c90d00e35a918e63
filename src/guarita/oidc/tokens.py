"""The tokens Guarita signs and how it reads them back.

* ID token — OpenID Connect Core 1.0 §2 and §3.1.3.7: ``iss sub aud exp iat auth_time nonce
  acr amr sid azp``, RS256 by default (ES256 per client).
* Access token — JWT Profile for OAuth 2.0 Access Tokens (RFC 9068): header ``typ: at+jwt``,
  ES256; ``iss exp aud sub client_id iat jti scope auth_time acr amr``, plus ``gid`` (the grant
  it came from) so that revoking a grant ends its access tokens at the UserInfo and
  introspection endpoints too.
* Logout token — Back-Channel Logout 1.0 §2.4, header ``typ: logout+jwt``.
* Refresh tokens and codes — 256 random bits, opaque, stored as SHA-256.

Reading: only the algorithms Guarita signs with, only keys it holds, ``alg: none`` never (RFC
8725 §3.1, §3.2).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass

from guarita.oidc.keys import KeyStore, LoadedKey

ACCEPTED_ALGS = frozenset({"RS256", "ES256"})


def new_opaque() -> str:
    return secrets.token_urlsafe(32)


def opaque_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_hex(16)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _unb64(segment: str) -> bytes:
    """Base64url without padding (RFC 7515 §2), strictly: only the URL-safe alphabet (no ``+``,
    ``/`` or ``=``), no impossible length, and no stray bits in the last character — so one
    token has exactly one spelling."""
    if not _BASE64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise binascii.Error("base64url inválido")
    decoded = base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True)
    if _b64(decoded).decode() != segment:
        raise binascii.Error("base64url não canônico")
    return decoded


@functools.lru_cache(maxsize=64)
def _protected(alg: str, kid: str, typ: str) -> bytes:
    """The encoded JWS Protected Header (RFC 7515 §5.1 steps 3–4), built once per key and type."""
    header = {"alg": alg, "kid": kid, "typ": typ}
    return _b64(json.dumps(header, separators=(",", ":")).encode())


def _sign(key: LoadedKey, claims: dict, typ: str) -> str:
    """JWS Compact Serialization (RFC 7515 §7.1) of the claims (RFC 7519 §7.1)."""
    signing_input = (
        _protected(key.alg, key.kid, typ)
        + b"."
        + _b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    return (signing_input + b"." + _b64(key.sign(signing_input))).decode("ascii")


@dataclass(frozen=True)
class Authentication:
    """How the person signed in, carried from the session into the grant and its tokens."""

    sub: str
    auth_time: int
    acr: str | None
    amr: tuple[str, ...]
    sid: str | None


def id_token(
    store: KeyStore,
    *,
    issuer: str,
    client_id: str,
    alg: str,
    auth: Authentication,
    nonce: str | None,
    ttl: int,
    now: int | None = None,
    extra: dict | None = None,
) -> str:
    """``extra``: claims a profile adds (``oidc/profiles.py``); they never replace ``iss``,
    ``sub``, ``aud``, ``azp``, ``iat``, ``exp``, ``auth_time`` or ``nonce``."""
    now = int(now if now is not None else time.time())
    claims = {
        "iss": issuer,
        "sub": auth.sub,
        "aud": client_id,
        "azp": client_id,
        "iat": now,
        "exp": now + ttl,
        "auth_time": auth.auth_time,
    }
    if nonce:
        claims["nonce"] = nonce
    if auth.acr:
        claims["acr"] = auth.acr
    if auth.amr:
        claims["amr"] = list(auth.amr)
    if auth.sid:
        claims["sid"] = auth.sid
    if extra:
        claims.update({k: v for k, v in extra.items() if k not in _FIXED_CLAIMS})
    return _sign(store.signing(alg), claims, "JWT")


_FIXED_CLAIMS = frozenset({"iss", "sub", "aud", "azp", "iat", "exp", "auth_time", "nonce"})

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def logout_token(
    store: KeyStore,
    *,
    issuer: str,
    client_id: str,
    alg: str,
    sub: str | None,
    sid: str | None,
    ttl: int,
    now: int | None = None,
) -> str:
    """OpenID Connect Back-Channel Logout 1.0 §2.4: ``iss aud iat exp jti events`` and ``sub``
    and/or ``sid``; never a ``nonce`` (so it cannot pass for an ID token); header ``typ:
    logout+jwt`` (explicit typing, RFC 8725 §3.11), signed with the client's ID token key."""
    now = int(now if now is not None else time.time())
    claims: dict = {
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    if sub:
        claims["sub"] = sub
    if sid:
        claims["sid"] = sid
    return _sign(store.signing(alg), claims, "logout+jwt")


def access_token(
    store: KeyStore,
    *,
    issuer: str,
    audience: str,
    client_id: str,
    alg: str,
    sub: str,
    scope: str,
    ttl: int,
    auth: Authentication | None = None,
    grant_id: str | None = None,
    now: int | None = None,
) -> tuple[str, dict]:
    now = int(now if now is not None else time.time())
    claims = {
        "iss": issuer,
        "sub": sub,
        "aud": audience,
        "client_id": client_id,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
    }
    if auth is not None:
        claims["auth_time"] = auth.auth_time
        if auth.acr:
            claims["acr"] = auth.acr
        if auth.amr:
            claims["amr"] = list(auth.amr)
    if grant_id:
        claims["gid"] = grant_id
    return _sign(store.signing(alg), claims, "at+jwt"), claims


class UnreadableToken(Exception):
    """Not a token Guarita signed, or not one of the expected kind; the reason is for logs."""


def _header(token: str) -> dict:
    try:
        header = json.loads(_unb64(token.split(".", 1)[0]))
    except (ValueError, IndexError, TypeError):
        raise UnreadableToken("cabecalho ilegivel") from None
    if not isinstance(header, dict):
        raise UnreadableToken("cabecalho ilegivel")
    return header


def read(store: KeyStore, token: str, *, typ: str | None) -> tuple[dict, dict]:
    """Header and claims of a JWT Guarita signed (signature checked; times are not)."""
    if not token or token.count(".") != 2 or len(token) > 8192:
        raise UnreadableToken("formato")
    header = _header(token)
    alg = header.get("alg")
    if alg not in ACCEPTED_ALGS:
        raise UnreadableToken(f"alg {alg!r} recusado")
    if typ is not None and str(header.get("typ", "")).lower() not in (typ, f"application/{typ}"):
        raise UnreadableToken("typ inesperado")
    if "crit" in header:
        # RFC 7515 §4.1.11: Guarita understands no extension, so none may be critical.
        raise UnreadableToken("crit recusado")
    kid = header.get("kid")
    key = store.verifying(kid) if isinstance(kid, str) else None
    if key is None or key.alg != alg:
        raise UnreadableToken("kid desconhecido")
    # RFC 7515 §5.2: the signature over the first two segments exactly as received.
    signing_input, _, signature = token.rpartition(".")
    try:
        valid = key.verify(signing_input.encode("ascii"), _unb64(signature))
    except (ValueError, UnicodeEncodeError):
        valid = False
    if not valid:
        raise UnreadableToken("assinatura")
    try:
        claims = json.loads(_unb64(signing_input.split(".", 1)[1]))
    except (ValueError, UnicodeDecodeError):
        raise UnreadableToken("claims ilegiveis") from None
    if not isinstance(claims, dict):
        raise UnreadableToken("claims ilegiveis")
    return header, claims


def read_access_token(
    store: KeyStore, token: str, *, issuer: str, audience: str, now: float | None = None
) -> dict:
    """RFC 9068 §4: typ, signature, iss, aud and exp."""
    _, claims = read(store, token, typ="at+jwt")
    now = now if now is not None else time.time()
    aud = claims.get("aud")
    if claims.get("iss") != issuer:
        raise UnreadableToken("iss")
    if aud != audience and not (isinstance(aud, list) and audience in aud):
        raise UnreadableToken("aud")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now:
        raise UnreadableToken("expirado")
    return claims


def read_id_token_hint(store: KeyStore, token: str, *, issuer: str) -> dict:
    """Core §3.1.2.1 and RP-Initiated Logout §2: signed by Guarita; an expired one still names
    the person and the client, which is all a hint is for."""
    header, claims = read(store, token, typ=None)
    if str(header.get("typ", "")).lower() in ("at+jwt", "application/at+jwt"):
        raise UnreadableToken("um access token nao e um id_token_hint")
    if claims.get("iss") != issuer or not claims.get("sub") or not claims.get("aud"):
        raise UnreadableToken("claims")
    return claims
