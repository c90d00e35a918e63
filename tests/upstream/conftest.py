"""Fixtures of the upstream tests: "Banco Exemplo" (node-oidc-provider on loopback, once per
run) registered in each test's Guarita, and settings that bound every call to it tightly."""

from __future__ import annotations

import pytest

from guarita.methods import upstream_rp
from guarita.services import upstreams
from guarita.storage.audit import RequestContext
from tests.support import upstream as support

REDIRECT = support.REDIRECT
BOUND = {"timeout_seconds": 1.0, "total_seconds": 2.5, "jwks_refresh_min_seconds": 0}


@pytest.fixture
def settings_overrides() -> dict:
    return {"upstream": BOUND}


@pytest.fixture
def bank(bank_server):
    """The session's bank, behaving, before and after each test."""
    upstream_rp.forget_caches()
    bank_server.set_mode("normal")
    yield bank_server
    bank_server.set_mode("normal")


async def register_bank(runtime, server, **extra) -> dict:  # noqa: ANN001, ANN003
    spec = upstreams.ProviderSpec(kind="bank", name="Banco Exemplo", code="1",
                                  issuer=server.issuer, client_id=support.CLIENT_ID,
                                  client_secret=support.CLIENT_SECRET, **extra)
    return await upstreams.add(runtime, spec, RequestContext(actor="test"))


@pytest.fixture(scope="session")
def govbr_server():
    """A gov.br stand-in: ``sub`` is the CPF, ``reliability_info`` in the ID token, gov.br's
    scopes and claim names."""
    if not support.available():
        pytest.skip("node e frontend/node_modules/oidc-provider são necessários (make setup)")
    with support.node_provider([support.client_metadata(REDIRECT)], name="gov.br",
                               govbr=True, cpf_in_id_token=True) as provider:
        yield provider


async def register_govbr(runtime, server) -> dict:  # noqa: ANN001
    spec = upstreams.ProviderSpec(kind="govbr", name="gov.br", issuer=server.issuer,
                                  client_id=support.CLIENT_ID,
                                  client_secret=support.CLIENT_SECRET)
    return await upstreams.add(runtime, spec, RequestContext(actor="test"))
