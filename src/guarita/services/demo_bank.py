"""``guarita demo --bank``: "Banco Exemplo" and a gov.br stand-in, for trying the validação pelo
banco and "Entrar com gov.br" on one machine (``docs/upstreams.md`` › Demo). Never in production.

Guarita registers each as an upstream provider (a fresh client secret each start, sealed as any
other) and the command runs node-oidc-provider (``frontend/upstream-provider.mjs``) for each on
the next free loopback ports, with one account per demo person who has a CPF: sign in at the bank
with the CPF and :data:`DEMO_BANK_PASSWORD`, at the gov.br stand-in with the CPF and
:data:`DEMO_GOVBR_PASSWORD` (its ID token asserts gov.br's "prata", ``silver``).
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import replace
from typing import Any

from guarita.domain.upstreams import UpstreamKind
from guarita.runtime import Runtime
from guarita.services import upstreams
from guarita.services.demo import demo_people
from guarita.storage.audit import RequestContext
from guarita.storage.upstream_tables import UpstreamProvider

DEMO_BANK_ID = "banco-exemplo-demo"
DEMO_BANK_NAME = "Banco Exemplo (demonstração)"
DEMO_BANK_PASSWORD = "banco123"  # noqa: S105 - the demonstration bank's accounts, documented
DEMO_CLIENT_ID = "guarita-demo"
DEMO_GOVBR_ID = "gov-br-demo"
DEMO_GOVBR_NAME = "gov.br (demonstração)"
DEMO_GOVBR_PASSWORD = "govbr123"  # noqa: S105 - the stand-in's accounts, documented
# gov.br's reliability_info as its ID token carries it (seal 201: validated at a bank).
DEMO_GOVBR_RELIABILITY = {"level": "silver", "reliabilities": [{"id": "201", "level": "silver"}]}


def next_free_port(start: int) -> int:
    """The first port from ``start`` that nobody listens on at 127.0.0.1."""
    for port in range(start, start + 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"nenhuma porta livre perto de {start}")


def bank_accounts() -> dict[str, dict[str, Any]]:
    """login (the CPF) → the bank's account, for every demo person who has a CPF."""
    return {p.cpf: {"login": p.cpf, "password": DEMO_BANK_PASSWORD, "sub": f"cliente-{p.cpf}",
                    "claims": {"cpf": p.cpf, "name": p.name}}
            for p in demo_people() if p.cpf}


def govbr_accounts() -> dict[str, dict[str, Any]]:
    """login (the CPF) → the gov.br stand-in's account: ``sub`` is the CPF, as at gov.br."""
    return {p.cpf: {"login": p.cpf, "password": DEMO_GOVBR_PASSWORD, "sub": p.cpf,
                    "claims": {"name": p.name, "reliability_info": DEMO_GOVBR_RELIABILITY}}
            for p in demo_people() if p.cpf}


async def register(runtime: Runtime, issuer: str, context: RequestContext) -> dict[str, Any]:
    """(Re)registers the demo bank at ``issuer`` with a fresh secret; answers what the bank needs
    to know of Guarita: its client (``client_id``, secret, redirect URI)."""
    return await _register(runtime, context, upstreams.ProviderSpec(
        kind=UpstreamKind.BANK.value, name=DEMO_BANK_NAME, code="999", issuer=issuer,
        client_id=DEMO_CLIENT_ID, id=DEMO_BANK_ID))


async def register_govbr(runtime: Runtime, issuer: str, context: RequestContext) -> dict[str, Any]:
    """(Re)registers the gov.br stand-in at ``issuer``, as :func:`register` does the bank."""
    return await _register(runtime, context, upstreams.ProviderSpec(
        kind=UpstreamKind.GOVBR.value, name=DEMO_GOVBR_NAME, issuer=issuer,
        client_id=DEMO_CLIENT_ID, id=DEMO_GOVBR_ID))


async def _register(runtime: Runtime, context: RequestContext,
                    spec: upstreams.ProviderSpec) -> dict[str, Any]:
    if runtime.settings.production:
        raise RuntimeError("os provedores de demonstração não existem em produção")
    async with runtime.db.read() as session:
        present = await session.get(UpstreamProvider, spec.id)
    if present is not None:
        await upstreams.remove(runtime, spec.id, context)
    secret = secrets.token_urlsafe(32)
    await upstreams.add(runtime, replace(spec, client_secret=secret), context)
    return {"client_id": DEMO_CLIENT_ID, "client_secret": secret,
            "redirect_uris": [upstreams.callback_url(runtime)],
            "grant_types": ["authorization_code"], "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic"}
