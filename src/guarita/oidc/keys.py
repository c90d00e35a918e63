"""Signing keys and the JWKS (RFC 7517; OpenID Connect Core 1.0 §10.1.1 on rotation).

Generated at first start: RS256 for ID tokens (Core §15.1 makes it the one every relying party
supports), ES256 for access tokens (ten times cheaper to sign). Private halves are stored
encrypted with AES-256-GCM under a key derived from ``GUARITA_SECRET_KEY`` (HKDF-SHA256), the
key id bound in as associated data, so a copy of the database alone signs nothing.

Rotation (``guarita keys rotate``) adds a key per algorithm that is published at once but signs
only after ``jwks_max_age_seconds``, so relying parties holding a cached JWKS already know it. A
superseded key stays in the JWKS until every token it signed has expired, then is deleted.

Each process keeps the keys in memory and looks at the table again every minute, so a rotation
made by the CLI reaches every worker without a restart.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import OidcSettings
from guarita.runtime import Runtime
from guarita.storage.oidc_tables import OidcSigningKey
from guarita.storage.types import utcnow

ALGORITHMS = ("RS256", "ES256")
RELOAD_EVERY = timedelta(seconds=60)
_CACHE = "oidc.keystore"
_LOCK = "oidc.keystore.lock"
_ADVISORY_LOCK_ID = 0x6775617269746102  # "guarita\x02": first-start key generation


def _wrapping_key(secret: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"guarita/oidc/signing-keys/v1"
    ).derive(secret)


def encrypt_private(secret: bytes, kid: str, private_jwk: dict) -> bytes:
    nonce = os.urandom(12)
    sealed = AESGCM(_wrapping_key(secret)).encrypt(
        nonce, json.dumps(private_jwk).encode(), kid.encode()
    )
    return b"v1" + nonce + sealed


def decrypt_private(secret: bytes, kid: str, blob: bytes) -> dict:
    if blob[:2] != b"v1":
        raise ValueError("formato de chave desconhecido")
    nonce, sealed = blob[2:14], blob[14:]
    return json.loads(AESGCM(_wrapping_key(secret)).decrypt(nonce, sealed, kid.encode()))


def generate(alg: str) -> RSAKey | ECKey:
    if alg == "RS256":
        key = RSAKey.generate_key(2048, private=True)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", private=True)
    else:  # pragma: no cover - ALGORITHMS is closed
        raise ValueError(alg)
    # RFC 7638 thumbprint as kid: stable, unique, says nothing.
    key.ensure_kid()
    return key


def _import(jwk: dict) -> RSAKey | ECKey:
    return RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)


@dataclass(frozen=True)
class LoadedKey:
    """One key in memory. ``sign`` and ``verify`` are the JWS algorithms themselves (RFC 7518
    §3.3 RS256: RSASSA-PKCS1-v1_5 with SHA-256; §3.4 ES256: ECDSA P-256 with SHA-256, the
    signature being R and S as two 32-byte big-endian integers), done with ``cryptography`` on
    the key objects imported once: through joserfc an ES256 signature cost three times the
    ECDSA operation itself (bench/oidc.py's reference rows)."""

    kid: str
    alg: str
    key: RSAKey | ECKey
    public_jwk: dict
    active_from: datetime
    superseded_at: datetime | None

    @functools.cached_property
    def _private(self):  # noqa: ANN202 - a cryptography private key
        return self.key.private_key

    @functools.cached_property
    def _public(self):  # noqa: ANN202 - a cryptography public key
        return self.key.public_key

    def sign(self, signing_input: bytes) -> bytes:
        if self.alg == "ES256":
            r, s = decode_dss_signature(self._private.sign(signing_input, _ECDSA))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self._private.sign(signing_input, padding.PKCS1v15(), _SHA256)

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        try:
            if self.alg == "ES256":
                if len(signature) != 64:
                    return False
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                self._public.verify(der, signing_input, _ECDSA)
            else:
                self._public.verify(signature, signing_input, padding.PKCS1v15(), _SHA256)
        except InvalidSignature:
            return False
        return True


_SHA256 = hashes.SHA256()
_ECDSA = ec.ECDSA(hashes.SHA256())


class KeyStore:
    """The keys one process signs and verifies with, and the JWKS bytes it serves."""

    def __init__(self, keys: list[LoadedKey], settings: OidcSettings, loaded_at: datetime):
        self.keys = keys
        self.by_kid = {k.kid: k for k in keys}
        self.loaded_at = loaded_at
        self.settings = settings
        published = [
            k.public_jwk | {"kid": k.kid, "alg": k.alg, "use": "sig"}
            for k in keys
            if self._published(k, loaded_at)
        ]
        self.jwks = json.dumps({"keys": published}, separators=(",", ":")).encode()
        self.etag = '"' + hashlib.sha256(self.jwks).hexdigest()[:32] + '"'
        # The gov.br profile's set (oidc/govbr.py): RSA keys only, since strict gov.br clients
        # check every key of the set is an RS256 RSA key before they look for the ``kid``.
        rsa_only = [k for k in published if k["alg"] == "RS256"]
        self.jwks_rs256 = json.dumps({"keys": rsa_only}, separators=(",", ":")).encode()
        self.etag_rs256 = '"' + hashlib.sha256(self.jwks_rs256).hexdigest()[:32] + '"'

    def _published(self, key: LoadedKey, now: datetime) -> bool:
        return key.superseded_at is None or now < key.superseded_at + retention(self.settings)

    def signing(self, alg: str, now: datetime | None = None) -> LoadedKey:
        now = now or utcnow()
        usable = [k for k in self.keys if k.alg == alg and k.active_from <= now]
        if not usable:
            raise LookupError(f"nenhuma chave {alg} ativa")
        return max(usable, key=lambda k: k.active_from)

    def verifying(self, kid: str | None) -> LoadedKey | None:
        return self.by_kid.get(kid) if kid else None


def retention(settings: OidcSettings) -> timedelta:
    """How long a superseded key stays published: the longest life of a token it signed."""
    return timedelta(
        seconds=max(settings.id_token_ttl_seconds, settings.access_token_ttl_seconds)
        + settings.clock_skew_seconds
    )


async def _rows(session: AsyncSession) -> list[OidcSigningKey]:
    return list((await session.execute(select(OidcSigningKey))).scalars())


def _superseded(rows: list[OidcSigningKey]) -> dict[str, datetime | None]:
    found: dict[str, datetime | None] = {}
    for alg in {r.alg for r in rows}:
        ordered = sorted((r for r in rows if r.alg == alg), key=lambda r: r.active_from)
        for current, following in zip(ordered, [*ordered[1:], None], strict=True):
            found[current.kid] = following.active_from if following else None
    return found


def _add(session: AsyncSession, secret: bytes, alg: str, active_from: datetime) -> OidcSigningKey:
    key = generate(alg)
    kid = key.kid
    public = key.as_dict(private=False)
    row = OidcSigningKey(
        kid=kid,
        alg=alg,
        public_jwk={k: v for k, v in public.items() if k not in ("kid", "alg", "use")},
        private_jwk_encrypted=encrypt_private(secret, kid, key.as_dict(private=True)),
        created_at=utcnow(),
        active_from=active_from,
    )
    session.add(row)
    return row


async def ensure_keys(runtime: Runtime) -> None:
    """First start: one active key per algorithm. Serialised so two workers make one set."""
    async with runtime.db.transaction() as session:
        if session.bind.dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID}
            )
        now = utcnow()
        present = {r.alg for r in await _rows(session) if r.active_from <= now}
        for alg in ALGORITHMS:
            if alg not in present:
                _add(session, runtime.settings.secret(), alg, now)


async def rotate(runtime: Runtime, *, immediately: bool = False) -> list[dict]:
    """Adds a new key per algorithm and deletes the keys whose tokens have all expired."""
    settings = runtime.settings.oidc
    now = utcnow()
    later = now + timedelta(seconds=settings.jwks_max_age_seconds)
    async with runtime.db.transaction() as session:
        if session.bind.dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID}
            )
        signing_now = {r.alg for r in await _rows(session) if r.active_from <= now}
        # With no key signing yet (a fresh database), waiting would leave nothing to sign with.
        added = [
            _add(
                session,
                runtime.settings.secret(),
                alg,
                now if immediately or alg not in signing_now else later,
            )
            for alg in ALGORITHMS
        ]
        await session.flush()
        rows = await _rows(session)
        superseded = _superseded(rows)
        expired = [
            kid
            for kid, when in superseded.items()
            if when is not None and when + retention(settings) <= now
        ]
        if expired:
            await session.execute(delete(OidcSigningKey).where(OidcSigningKey.kid.in_(expired)))
    return [
        {"kid": r.kid, "alg": r.alg, "active_from": r.active_from.isoformat()} for r in added
    ] + [{"kid": kid, "deleted": True} for kid in expired]


async def describe(runtime: Runtime) -> list[dict]:
    async with runtime.db.transaction() as session:
        rows = await _rows(session)
    superseded = _superseded(rows)
    return [
        {
            "kid": r.kid,
            "alg": r.alg,
            "active_from": r.active_from.isoformat(),
            "superseded_at": superseded[r.kid].isoformat() if superseded[r.kid] else None,
        }
        for r in sorted(rows, key=lambda r: (r.alg, r.active_from))
    ]


async def _load(runtime: Runtime, previous: KeyStore | None) -> KeyStore:
    async with runtime.db.transaction() as session:
        rows = await _rows(session)
    now = utcnow()
    if {r.alg for r in rows if r.active_from <= now} < set(ALGORITHMS):
        await ensure_keys(runtime)
        async with runtime.db.transaction() as session:
            rows = await _rows(session)
    superseded = _superseded(rows)
    secret = runtime.settings.secret()
    keys = []
    for row in rows:
        known = previous.by_kid.get(row.kid) if previous else None
        key = (
            known.key
            if known
            else _import(decrypt_private(secret, row.kid, row.private_jwk_encrypted))
        )
        keys.append(
            LoadedKey(
                row.kid, row.alg, key, dict(row.public_jwk), row.active_from, superseded[row.kid]
            )
        )
    return KeyStore(keys, runtime.settings.oidc, utcnow())


async def keystore(runtime: Runtime, *, refresh: bool = False) -> KeyStore:
    """This process's keys, loaded (and generated, the first time) on first use."""
    current: KeyStore | None = runtime.extras.get(_CACHE)
    now = utcnow()
    if current is not None and not refresh and now - current.loaded_at < RELOAD_EVERY:
        return current
    lock = runtime.extras.setdefault(_LOCK, asyncio.Lock())
    async with lock:
        current = runtime.extras.get(_CACHE)
        if current is None or refresh or utcnow() - current.loaded_at >= RELOAD_EVERY:
            current = runtime.extras[_CACHE] = await _load(runtime, current)
    return current


def cached(runtime: Runtime) -> KeyStore | None:
    """The keys already in memory, without touching the database (the hot paths' fast lane)."""
    current: KeyStore | None = runtime.extras.get(_CACHE)
    if current is not None and utcnow() - current.loaded_at < RELOAD_EVERY:
        return current
    return None
