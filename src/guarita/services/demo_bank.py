"""``guarita demo --bank``: "Banco Exemplo", a demonstration bank for trying the validação pelo
banco on one machine (``docs/upstreams.md`` › Demo). Never in production.

Guarita registers the bank as an upstream provider (a fresh client secret each start, sealed as
any other) and the command runs node-oidc-provider (``frontend/upstream-provider.mjs``) on the
next free loopback port with one bank account per demo person who has a CPF: sign in at the bank
with the CPF and :data:`DEMO_BANK_PASSWORD`.
"""

from __future__ import annotations

import secrets
import socket
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


async def register(runtime: Runtime, issuer: str, context: RequestContext) -> dict[str, Any]:
    """(Re)registers the demo bank at ``issuer`` with a fresh secret; answers what the bank needs
    to know of Guarita: its client (``client_id``, secret, redirect URI)."""
    if runtime.settings.production:
        raise RuntimeError("o banco de demonstração não existe em produção")
    async with runtime.db.read() as session:
        present = await session.get(UpstreamProvider, DEMO_BANK_ID)
    if present is not None:
        await upstreams.remove(runtime, DEMO_BANK_ID, context)
    secret = secrets.token_urlsafe(32)
    await upstreams.add(runtime, upstreams.ProviderSpec(
        kind=UpstreamKind.BANK.value, name=DEMO_BANK_NAME, code="999", issuer=issuer,
        client_id=DEMO_CLIENT_ID, client_secret=secret, id=DEMO_BANK_ID), context)
    return {"client_id": DEMO_CLIENT_ID, "client_secret": secret,
            "redirect_uris": [upstreams.callback_url(runtime)],
            "grant_types": ["authorization_code"], "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic"}
