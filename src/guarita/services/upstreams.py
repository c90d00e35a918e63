"""The outside OpenID providers Guarita is registered at (``docs/upstreams.md`` › Providers).

``guarita upstreams add | list | disable | enable | remove`` and the pages read and write them
here. A client secret arrives from a file or the environment (never the command line: shell
history, ``ps``) and is stored sealed; with ``private_key_jwt`` a key pair is generated per
provider and its public half published at ``/upstream/<id>/jwks.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.audit_tags import AuditTag
from guarita.domain.upstreams import (
    DEFAULT_CPF_CLAIM,
    DEFAULT_SCOPES,
    SECRET_METHODS,
    UpstreamAuthMethod,
    UpstreamKind,
    provider_id_from,
    valid_provider_id,
)
from guarita.methods import upstream as upstream_method
from guarita.methods import upstream_rp
from guarita.methods.upstream_rp import Provider
from guarita.runtime import Runtime
from guarita.storage.audit import RequestContext, record
from guarita.storage.types import utcnow
from guarita.storage.upstream_tables import UpstreamLink, UpstreamProvider

CALLBACK_PATH = "/upstream/callback"
# Logos are shown as <img>; only raster formats, recognised by their first bytes (an SVG could
# carry script if opened on its own).
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class UpstreamConfigError(ValueError):
    """A registration that cannot work, in one plain pt-BR sentence."""


@dataclass
class ProviderSpec:
    kind: str
    name: str
    issuer: str
    client_id: str
    auth_method: str = UpstreamAuthMethod.CLIENT_SECRET_BASIC.value
    client_secret: str | None = None
    code: str | None = None
    scopes: str | None = None
    cpf_claim: str | None = None
    logo: bytes | None = None
    require_par: bool = False
    id: str | None = None


def callback_url(runtime: Runtime) -> str:
    return runtime.settings.base_url.rstrip("/") + CALLBACK_PATH


def jwks_url(runtime: Runtime, provider_id: str) -> str:
    return f"{runtime.settings.base_url.rstrip('/')}/upstream/{provider_id}/jwks.json"


def logo_url(row: UpstreamProvider) -> str | None:
    return f"/upstream/{row.id}/logo" if row.logo else None


def _check(spec: ProviderSpec, settings: Any) -> tuple[UpstreamKind, UpstreamAuthMethod, str | None]:
    try:
        kind = UpstreamKind(spec.kind)
    except ValueError:
        raise UpstreamConfigError("Tipo inválido: use bank, govbr ou oidc.") from None
    try:
        method = UpstreamAuthMethod(spec.auth_method)
    except ValueError:
        raise UpstreamConfigError(
            "Autenticação inválida: use client_secret_basic, client_secret_post ou "
            "private_key_jwt.") from None
    if not spec.name.strip() or len(spec.name) > 80:
        raise UpstreamConfigError("Informe um nome de até 80 caracteres.")
    issuer = spec.issuer.strip()
    loopback = issuer.startswith(("http://127.0.0.1", "http://localhost"))
    if not issuer.startswith("https://") and not (loopback and not settings.production):
        raise UpstreamConfigError("O emissor (issuer) precisa ser um endereço https://.")
    if not spec.client_id.strip():
        raise UpstreamConfigError("Informe o client_id que o provedor atribuiu.")
    if method in SECRET_METHODS and not spec.client_secret:
        raise UpstreamConfigError(
            "Este método de autenticação precisa do segredo: use --client-secret-file ARQUIVO "
            "ou a variável GUARITA_UPSTREAM_SECRET (nunca na linha de comando).")
    if method is UpstreamAuthMethod.PRIVATE_KEY_JWT and spec.client_secret:
        raise UpstreamConfigError("Com private_key_jwt não há segredo: não informe um.")
    if spec.code is not None and not (spec.code.isdigit() and len(spec.code) <= 3):
        raise UpstreamConfigError("O código do banco tem até 3 dígitos (ex.: 001).")
    logo_type = None
    if spec.logo is not None:
        if len(spec.logo) > settings.upstream.max_logo_bytes:
            raise UpstreamConfigError("O logotipo é grande demais (até 100 KB).")
        logo_type = next((t for magic, t in LOGO_TYPES.items() if spec.logo.startswith(magic)),
                         None)
        if logo_type is None:
            raise UpstreamConfigError("O logotipo precisa ser PNG ou JPEG.")
    return kind, method, logo_type


async def add(runtime: Runtime, spec: ProviderSpec, context: RequestContext) -> dict[str, Any]:
    """Registers a provider; answers what ``list`` shows plus the URLs to give the provider."""
    kind, method, logo_type = _check(spec, runtime.settings)
    master = runtime.settings.secret()
    async with runtime.db.transaction() as session:
        provider_id = await _free_id(session, spec.id or provider_id_from(spec.name))
        row = UpstreamProvider(
            id=provider_id, kind=kind.value, name=spec.name.strip(), code=spec.code,
            issuer=spec.issuer.strip(), client_id=spec.client_id.strip(),
            auth_method=method.value, scopes=(spec.scopes or DEFAULT_SCOPES[kind]).strip(),
            cpf_claim=(spec.cpf_claim or DEFAULT_CPF_CLAIM[kind]).strip(),
            require_par=spec.require_par, logo=spec.logo, logo_type=logo_type, enabled=True,
            created_at=utcnow())
        if spec.client_secret:
            row.secret_sealed = upstream_method.seal(master, spec.client_secret,
                                                     bound_to=f"{provider_id}:secret")
        if method is UpstreamAuthMethod.PRIVATE_KEY_JWT:
            private, public = upstream_rp.generate_key_pair(f"{provider_id}-1")
            row.private_key_sealed = upstream_method.seal(master, json.dumps(private),
                                                          bound_to=f"{provider_id}:key")
            row.public_jwk = json.dumps(public)
        session.add(row)
        await session.flush()
        await record(session, AuditTag.UPSTREAM_PROVIDER_ADDED, context=context,
                     details={"provider": provider_id, "kind": kind.value,
                              "issuer": row.issuer, "auth_method": method.value})
        return describe(runtime, row, links=0)


async def _free_id(session: AsyncSession, wanted: str) -> str:
    if not valid_provider_id(wanted):
        raise UpstreamConfigError("Identificador inválido: letras minúsculas, números e hífens.")
    candidate, n = wanted, 1
    while await session.get(UpstreamProvider, candidate) is not None:
        n += 1
        candidate = f"{wanted[:28]}-{n}"
    return candidate


def describe(runtime: Runtime, row: UpstreamProvider, *, links: int) -> dict[str, Any]:
    """A provider as ``list`` shows it: never a secret, never the private key."""
    return {
        "id": row.id, "kind": row.kind, "name": row.name, "code": row.code,
        "issuer": row.issuer, "client_id": row.client_id, "auth_method": row.auth_method,
        "scopes": row.scopes, "cpf_claim": row.cpf_claim, "require_par": bool(row.require_par),
        "enabled": bool(row.enabled), "has_secret": row.secret_sealed is not None,
        "has_logo": row.logo is not None, "links": links,
        "redirect_uri": callback_url(runtime),
        "jwks_url": jwks_url(runtime, row.id) if row.public_jwk else None,
    }


async def list_all(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.db.read() as session:
        rows = (await session.execute(select(UpstreamProvider)
                                      .order_by(UpstreamProvider.created_at))).scalars().all()
        counts = dict((await session.execute(
            select(UpstreamLink.provider_id, func.count()).group_by(UpstreamLink.provider_id)
        )).all())
        return [describe(runtime, r, links=counts.get(r.id, 0)) for r in rows]


async def set_enabled(runtime: Runtime, provider_id: str, enabled: bool,
                      context: RequestContext) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        row = await session.get(UpstreamProvider, provider_id)
        if row is None:
            raise UpstreamConfigError(f"Provedor {provider_id} não encontrado.")
        row.enabled = enabled
        row.disabled_at = None if enabled else utcnow()
        if not enabled:
            await record(session, AuditTag.UPSTREAM_PROVIDER_DISABLED, context=context,
                         details={"provider": provider_id})
        return describe(runtime, row, links=0)


async def remove(runtime: Runtime, provider_id: str, context: RequestContext) -> int:
    """Removes the provider and the links it confirmed; answers how many links went."""
    async with runtime.db.transaction() as session:
        row = await session.get(UpstreamProvider, provider_id)
        if row is None:
            raise UpstreamConfigError(f"Provedor {provider_id} não encontrado.")
        gone = await session.execute(delete(UpstreamLink)
                                     .where(UpstreamLink.provider_id == provider_id))
        await session.delete(row)
        await record(session, AuditTag.UPSTREAM_PROVIDER_REMOVED, context=context,
                     details={"provider": provider_id, "links": gone.rowcount})
    upstream_rp.forget_caches()
    return gone.rowcount or 0


# -- for the flows -------------------------------------------------------------------------------
def _provider(runtime: Runtime, row: UpstreamProvider) -> Provider:
    master = runtime.settings.secret()
    secret = (upstream_method.unseal(master, row.secret_sealed, bound_to=f"{row.id}:secret")
              if row.secret_sealed else None)
    private = (json.loads(upstream_method.unseal(master, row.private_key_sealed,
                                                 bound_to=f"{row.id}:key"))
               if row.private_key_sealed else None)
    return Provider(id=row.id, kind=row.kind, name=row.name, issuer=row.issuer,
                    client_id=row.client_id, auth_method=row.auth_method, scopes=row.scopes,
                    cpf_claim=row.cpf_claim, code=row.code, require_par=bool(row.require_par),
                    client_secret=secret, private_jwk=private)


async def enabled_provider(session: AsyncSession, runtime: Runtime, provider_id: str,
                           kind: UpstreamKind) -> Provider | None:
    row = await session.get(UpstreamProvider, (provider_id or "")[:32])
    if row is None or not row.enabled or row.kind != kind.value:
        return None
    return _provider(runtime, row)


async def any_provider(session: AsyncSession, runtime: Runtime,
                       provider_id: str) -> Provider | None:
    """The provider a pending request named, even if disabled since (the callback then refuses
    by the caller's rule)."""
    row = await session.get(UpstreamProvider, (provider_id or "")[:32])
    return _provider(runtime, row) if row is not None and row.enabled else None


async def enabled_of_kind(session: AsyncSession, kind: UpstreamKind) -> list[UpstreamProvider]:
    return list((await session.execute(
        select(UpstreamProvider).where(UpstreamProvider.kind == kind.value,
                                       UpstreamProvider.enabled.is_(True))
        .order_by(UpstreamProvider.name))).scalars())


async def origins(runtime: Runtime, kind: UpstreamKind) -> list[str]:
    """The origins of the enabled providers of ``kind``: a page whose form answers with a
    redirect to one of them must allow it in CSP ``form-action`` (CSP3 §6.3.1 checks every
    redirect of a form's submission). The issuer's origin stands for the authorization
    endpoint's, as at gov.br and the banks seen so far (``docs/upstreams.md`` › Limits)."""
    async with runtime.db.read() as session:
        rows = await enabled_of_kind(session, kind)
    found = []
    for row in rows:
        parts = urlsplit(row.issuer)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in found:
            found.append(origin)
    return found


async def public_jwks(runtime: Runtime, provider_id: str) -> dict[str, Any] | None:
    async with runtime.db.read() as session:
        row = await session.get(UpstreamProvider, (provider_id or "")[:32])
        if row is None or not row.public_jwk:
            return None
        return {"keys": [json.loads(row.public_jwk)]}


async def logo(runtime: Runtime, provider_id: str) -> tuple[bytes, str] | None:
    async with runtime.db.read() as session:
        row = await session.get(UpstreamProvider, (provider_id or "")[:32])
        if row is None or row.logo is None or not row.logo_type:
            return None
        return row.logo, row.logo_type
