"""Registered clients (RFC 6749 §2; metadata names of RFC 7591 §2 and OpenID Connect
Dynamic Client Registration §2).

Clients are registered by the operators (``guarita clients add``), never dynamically. A
confidential client gets a 256-bit random secret, shown once and stored as its SHA-256: a slow
password hash would add nothing against guessing a 256-bit value and would cost ~30 ms per token
request (SECURITY.md; django-oauth-toolkit measured at 28 requests/s because of it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.oidc import redirect_uris
from guarita.oidc.claims import DEFAULT_CLIENT_SCOPES
from guarita.oidc.subject import sector_of
from guarita.runtime import Runtime
from guarita.storage import plain_sql as sql
from guarita.storage.oidc_tables import OidcClient
from guarita.storage.types import utcnow

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
ID_TOKEN_ALGS = ("RS256", "ES256")
# The provider faces a client may be registered for (``oidc/profiles.py``).
PROFILES = ("standard", "govbr")
# What a gov.br client may ask (Manual do Login Único, "Escopos"): no Guarita-only scopes, whose
# claims a gov.br library would refuse in UserInfo.
GOVBR_SCOPES = ("openid", "profile", "email", "phone", "govbr_confiabilidades",
                "govbr_confiabilidades_idtoken")
# Clients change rarely; a few seconds of cache keeps a query off every token request.
CACHE_SECONDS = 5.0
_CACHE = "oidc.clients"


class ClientRegistrationError(ValueError):
    """Metadata that cannot be registered; the message is plain pt-BR."""


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    secret_hash: str | None
    auth_method: str
    application_type: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    first_party: bool
    subject_type: str
    sector_identifier: str | None
    id_token_alg: str
    jwks: dict | None
    active: bool
    profile: str = "standard"
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool = False
    legal_basis: str = "consent"
    legal_basis_text: str | None = None

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    def secret_matches(self, presented: str) -> bool:
        if not self.secret_hash or not presented:
            return False
        return hmac.compare_digest(hash_secret(presented), self.secret_hash)

    def as_dict(self) -> dict:
        return {
            "client_id": self.id,
            "client_name": self.name,
            "token_endpoint_auth_method": self.auth_method,
            "application_type": self.application_type,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "grant_types": list(self.grant_types),
            "scope": " ".join(self.scopes),
            "first_party": self.first_party,
            "subject_type": self.subject_type,
            "sector_identifier": self.sector_identifier,
            "id_token_signed_response_alg": self.id_token_alg,
            "profile": self.profile,
            "backchannel_logout_uri": self.backchannel_logout_uri,
            "backchannel_logout_session_required": self.backchannel_logout_session_required,
            "frontchannel_logout_uri": self.frontchannel_logout_uri,
            "frontchannel_logout_session_required": self.frontchannel_logout_session_required,
            "legal_basis": self.legal_basis,
            "legal_basis_text": self.legal_basis_text,
            "active": self.active,
        }


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _from_row(row: OidcClient) -> Client:
    return Client(
        id=row.id,
        name=row.name,
        secret_hash=row.secret_hash,
        auth_method=row.token_endpoint_auth_method,
        application_type=row.application_type,
        redirect_uris=tuple(row.redirect_uris or ()),
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris or ()),
        grant_types=tuple(row.grant_types or ()),
        scopes=tuple(row.scopes or ()),
        first_party=row.first_party,
        subject_type=row.subject_type,
        sector_identifier=row.sector_identifier,
        id_token_alg=row.id_token_signed_response_alg,
        jwks=row.jwks,
        active=row.disabled_at is None,
        profile=row.profile or "standard",
        backchannel_logout_uri=row.backchannel_logout_uri,
        backchannel_logout_session_required=bool(row.backchannel_logout_session_required),
        frontchannel_logout_uri=row.frontchannel_logout_uri,
        frontchannel_logout_session_required=bool(row.frontchannel_logout_session_required),
        legal_basis=row.legal_basis or "consent",
        legal_basis_text=row.legal_basis_text,
    )


@dataclass
class ClientSpec:
    """What an operator registers. ``public`` means no secret (``none``, PKCE only)."""

    name: str
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    public: bool = False
    third_party: bool = False
    scopes: list[str] | None = None
    grant_types: list[str] | None = None
    auth_method: str | None = None
    application_type: str = "web"
    subject_type: str = "public"
    sector_identifier: str | None = None
    id_token_alg: str = "RS256"  # noqa: S105 - an algorithm name
    jwks: dict | None = None
    client_id: str | None = None
    profile: str = "standard"
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool = False
    legal_basis: str = "consent"
    legal_basis_text: str | None = None


def _checked(spec: ClientSpec) -> ClientSpec:
    """Every problem of the metadata, one pt-BR sentence each (checks in order)."""
    problems: list[str] = []
    name = (spec.name or "").strip()
    if not name or len(name) > 200:
        problems.append("Informe um nome de até 200 caracteres.")
    method = spec.auth_method or ("none" if spec.public else "client_secret_basic")
    if method not in AUTH_METHODS:
        problems.append(f"Método de autenticação desconhecido: {method}.")
    if spec.public and method != "none":
        problems.append("Um cliente público não tem segredo: use o método 'none'.")
    if method == "private_key_jwt" and not (spec.jwks and spec.jwks.get("keys")):
        problems.append("private_key_jwt precisa das chaves públicas do cliente (JWKS).")
    govbr = spec.profile == "govbr"
    if spec.profile not in PROFILES:
        problems.append("Perfil desconhecido: use standard ou govbr.")
    # gov.br hands out no refresh token: a gov.br client gets one only when it asks for it.
    default_grants = ["authorization_code"] if govbr else ["authorization_code", "refresh_token"]
    grants = list(dict.fromkeys(spec.grant_types or default_grants))
    for grant in grants:
        if grant not in GRANT_TYPES:
            problems.append(f"Tipo de concessão desconhecido: {grant}.")
    if "client_credentials" in grants and method == "none":
        problems.append("client_credentials só para clientes com credenciais (não públicos).")
    if "authorization_code" in grants and not spec.redirect_uris:
        problems.append("Informe ao menos um endereço de retorno (--redirect-uri).")
    native = spec.application_type == "native"
    if spec.application_type not in ("web", "native"):
        problems.append("application_type deve ser web ou native.")
    for uri in [*spec.redirect_uris, *spec.post_logout_redirect_uris]:
        found = redirect_uris.problem(uri, native=native)
        if found:
            problems.append(found[0].upper() + found[1:] + ".")
    problems += logout_uri_problems(spec)
    basis_text = legal_basis_problems(spec.legal_basis, spec.legal_basis_text, problems)
    if spec.subject_type not in ("public", "pairwise"):
        problems.append("subject_type deve ser public ou pairwise.")
    sector = spec.sector_identifier
    if spec.subject_type == "pairwise" and not sector:
        sector = sector_of(spec.redirect_uris)
        if not sector:
            problems.append(
                "Com sub por setor (pairwise) e endereços em hosts diferentes, informe o setor."
            )
    if spec.id_token_alg not in ID_TOKEN_ALGS:
        problems.append("O algoritmo do ID token deve ser RS256 ou ES256.")
    if govbr:
        # gov.br's clients accept RS256 only, and their sub is the CPF (docs/govbr-profile.md).
        if spec.id_token_alg != "RS256":  # noqa: S105 - an algorithm name
            problems.append("Um cliente do perfil gov.br recebe ID tokens RS256.")
        if spec.subject_type != "public":
            problems.append("No perfil gov.br o sub é o CPF: não há sub por setor (pairwise).")
        if "client_credentials" in grants:
            problems.append("O perfil gov.br é só para entrar (authorization_code).")
        unknown = [s for s in (spec.scopes or ()) if s not in GOVBR_SCOPES]
        if unknown:
            problems.append(
                "Escopos do perfil gov.br: " + " ".join(GOVBR_SCOPES) + f" (não {unknown[0]})."
            )
    scopes = list(dict.fromkeys(spec.scopes or (GOVBR_SCOPES if govbr else DEFAULT_CLIENT_SCOPES)))
    if "authorization_code" in grants and "openid" not in scopes:
        scopes.insert(0, "openid")
    if any(not s or len(s) > 64 or not s.isprintable() or " " in s for s in scopes):
        problems.append("Escopos são palavras sem espaços, de até 64 caracteres.")
    if problems:
        raise ClientRegistrationError(" ".join(problems))
    return ClientSpec(
        name=name,
        redirect_uris=list(dict.fromkeys(spec.redirect_uris)),
        post_logout_redirect_uris=list(dict.fromkeys(spec.post_logout_redirect_uris)),
        public=spec.public,
        third_party=spec.third_party,
        scopes=scopes,
        grant_types=grants,
        auth_method=method,
        application_type=spec.application_type,
        subject_type=spec.subject_type,
        sector_identifier=sector,
        id_token_alg=spec.id_token_alg,
        jwks=spec.jwks,
        client_id=spec.client_id,
        profile=spec.profile,
        backchannel_logout_uri=spec.backchannel_logout_uri or None,
        backchannel_logout_session_required=spec.backchannel_logout_session_required,
        frontchannel_logout_uri=spec.frontchannel_logout_uri or None,
        frontchannel_logout_session_required=spec.frontchannel_logout_session_required,
        legal_basis=spec.legal_basis,
        legal_basis_text=basis_text,
    )


LEGAL_BASES = ("consent", "legal_duty")
LEGAL_BASIS_TEXT_MAX = 300


def legal_basis_problems(basis: str, text: str | None, problems: list[str]) -> str | None:
    """LGPD art. 7: ``consent`` (I) or ``legal_duty`` (the organisation's legal or contractual
    duty, II/V), which must name the law or contract. Appends to ``problems``; returns the
    text as stored (spaces collapsed, None when empty)."""
    text = " ".join((text or "").split()) or None
    if basis not in LEGAL_BASES:
        problems.append("Base legal desconhecida: use consent ou legal_duty.")
    if basis == "legal_duty" and not text:
        problems.append(
            "Com a base legal legal_duty, informe a lei ou o contrato (--legal-basis-text)."
        )
    if text and (len(text) > LEGAL_BASIS_TEXT_MAX or not text.isprintable()):
        problems.append(
            f"O texto da base legal tem até {LEGAL_BASIS_TEXT_MAX} caracteres visíveis."
        )
    return text


def logout_uri_problems(spec: ClientSpec) -> list[str]:
    """Back-Channel Logout 1.0 §2.2: an absolute URI without a fragment, https (http only on
    loopback, for development). Front-Channel Logout 1.0 §2: also on the scheme, host and port
    of a registered redirect URI, since the browser loads it in a frame of the logout page."""
    problems: list[str] = []
    for label, uri in (("backchannel_logout_uri", spec.backchannel_logout_uri),
                       ("frontchannel_logout_uri", spec.frontchannel_logout_uri)):
        if not uri:
            continue
        found = redirect_uris.problem(uri) if len(uri) <= 254 else "endereço longo demais"
        if found or "://" not in uri:
            problems.append(f"{label}: {found or 'use um endereço http(s) completo'}.")
    front = spec.frontchannel_logout_uri
    if front and not any(_origin(front) == _origin(uri) for uri in spec.redirect_uris):
        problems.append(
            "frontchannel_logout_uri deve ter o mesmo esquema, host e porta de um endereço "
            "de retorno."
        )
    if spec.backchannel_logout_session_required and not spec.backchannel_logout_uri:
        problems.append("backchannel_logout_session_required sem backchannel_logout_uri.")
    if spec.frontchannel_logout_session_required and not front:
        problems.append("frontchannel_logout_session_required sem frontchannel_logout_uri.")
    return problems


def _origin(uri: str) -> tuple[str, str | None, int | None] | None:
    try:
        parts = urlsplit(uri)
        return parts.scheme, parts.hostname, parts.port
    except ValueError:
        return None


def _apply(row: OidcClient, spec: ClientSpec) -> None:
    row.name = spec.name
    row.token_endpoint_auth_method = spec.auth_method
    row.application_type = spec.application_type
    row.redirect_uris = spec.redirect_uris
    row.post_logout_redirect_uris = spec.post_logout_redirect_uris
    row.grant_types = spec.grant_types
    row.scopes = spec.scopes
    row.first_party = not spec.third_party
    row.subject_type = spec.subject_type
    row.sector_identifier = spec.sector_identifier
    row.id_token_signed_response_alg = spec.id_token_alg
    row.jwks = spec.jwks
    row.profile = spec.profile
    row.backchannel_logout_uri = spec.backchannel_logout_uri
    row.backchannel_logout_session_required = spec.backchannel_logout_session_required
    row.frontchannel_logout_uri = spec.frontchannel_logout_uri
    row.frontchannel_logout_session_required = spec.frontchannel_logout_session_required
    row.legal_basis = spec.legal_basis
    row.legal_basis_text = spec.legal_basis_text
    row.updated_at = utcnow()


def _new_secret(spec: ClientSpec) -> str | None:
    return secrets.token_urlsafe(32) if spec.auth_method in SECRET_METHODS else None


async def register(session: AsyncSession, spec: ClientSpec) -> tuple[Client, str | None]:
    """A new client and, for secret-based methods, its secret (returned once, never stored)."""
    spec = _checked(spec)
    client_id = spec.client_id or secrets.token_urlsafe(18)
    if await session.get(OidcClient, client_id) is not None:
        raise ClientRegistrationError(f"Já existe um cliente com o id {client_id}.")
    secret = _new_secret(spec)
    row = OidcClient(
        id=client_id, secret_hash=hash_secret(secret) if secret else None, created_at=utcnow()
    )
    _apply(row, spec)
    session.add(row)
    await session.flush()
    return _from_row(row), secret


async def ensure(session: AsyncSession, spec: ClientSpec) -> tuple[Client, str | None]:
    """Creates ``spec.client_id`` or brings it to ``spec``, with a fresh secret (idempotent)."""
    spec = _checked(spec)
    row = await session.get(OidcClient, spec.client_id)
    if row is None:
        return await register(session, spec)
    secret = _new_secret(spec)
    _apply(row, spec)
    row.secret_hash = hash_secret(secret) if secret else None
    row.disabled_at = None
    await session.flush()
    return _from_row(row), secret


async def set_legal_basis(
    session: AsyncSession, client_id: str, basis: str, text: str | None
) -> Client | None:
    """Changes only the legal basis of a registered client (``guarita clients update``)."""
    row = await session.get(OidcClient, client_id)
    if row is None:
        return None
    problems: list[str] = []
    stored = legal_basis_problems(basis, text, problems)
    if problems:
        raise ClientRegistrationError(" ".join(problems))
    row.legal_basis, row.legal_basis_text, row.updated_at = basis, stored, utcnow()
    await session.flush()
    return _from_row(row)


async def find(session: AsyncSession, client_id: str) -> Client | None:
    if not client_id or len(client_id) > 64:
        return None
    row = await session.get(OidcClient, client_id)
    return _from_row(row) if row is not None else None


async def list_all(session: AsyncSession) -> list[Client]:
    rows = await session.execute(select(OidcClient).order_by(OidcClient.created_at))
    return [_from_row(r) for r in rows.scalars()]


async def names(session: AsyncSession, client_ids: list[str]) -> dict[str, Client]:
    if not client_ids:
        return {}
    rows = await session.execute(select(OidcClient).where(OidcClient.id.in_(client_ids)))
    return {r.id: _from_row(r) for r in rows.scalars()}


_FIND = sql.Sql(
    "SELECT id, name, secret_hash, token_endpoint_auth_method, application_type, redirect_uris, "
    "post_logout_redirect_uris, grant_types, scopes, first_party, subject_type, sector_identifier, "
    "id_token_signed_response_alg, jwks, disabled_at, profile, backchannel_logout_uri, "
    "backchannel_logout_session_required, frontchannel_logout_uri, "
    "frontchannel_logout_session_required, legal_basis, legal_basis_text "
    "FROM oidc_clients WHERE id = :id"
)


def _from_values(v: tuple) -> Client:
    return Client(
        id=v[0],
        name=v[1],
        secret_hash=v[2],
        auth_method=v[3],
        application_type=v[4],
        redirect_uris=tuple(sql.data(v[5]) or ()),
        post_logout_redirect_uris=tuple(sql.data(v[6]) or ()),
        grant_types=tuple(sql.data(v[7]) or ()),
        scopes=tuple(sql.data(v[8]) or ()),
        first_party=bool(v[9]),
        subject_type=v[10],
        sector_identifier=v[11],
        id_token_alg=v[12],
        jwks=sql.data(v[13]),
        active=v[14] is None,
        profile=v[15] or "standard",
        backchannel_logout_uri=v[16],
        backchannel_logout_session_required=bool(v[17]),
        frontchannel_logout_uri=v[18],
        frontchannel_logout_session_required=bool(v[19]),
        legal_basis=v[20] or "consent",
        legal_basis_text=v[21],
    )


async def cached(runtime: Runtime, client_id: str) -> Client | None:
    """``find`` through a per-process cache of ``CACHE_SECONDS`` (misses are not cached).

    Refreshes are single-flight: when an entry expires under load, one request reads the table
    and the others wait for it, instead of all of them reading at once.
    """
    if not client_id or len(client_id) > 64:
        return None
    cache: dict = runtime.extras.setdefault(_CACHE, {})
    hit = cache.get(client_id)
    if hit is not None and hit[1] > utcnow():
        return hit[0]
    lock = runtime.extras.setdefault(_CACHE + ".lock", asyncio.Lock())
    async with lock:
        hit = cache.get(client_id)
        now = utcnow()
        if hit is not None and hit[1] > now:
            return hit[0]

        async def find_client(tx: sql.Tx) -> tuple | None:
            return await tx.one(_FIND, id=client_id)

        found = await sql.read(runtime.db, find_client)
        client = _from_values(found) if found else None
        if client is not None:
            if len(cache) > 10_000:
                cache.clear()
            cache[client_id] = (client, now + timedelta(seconds=CACHE_SECONDS))
        return client


def forget(runtime: Runtime, client_id: str | None = None) -> None:
    cache: dict = runtime.extras.setdefault(_CACHE, {})
    if client_id is None:
        cache.clear()
    else:
        cache.pop(client_id, None)
