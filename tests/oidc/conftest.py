"""The provider's tests talk to the application the way ``guarita serve`` builds it
(``app.serve_app``): wrapped in ``endpoints.fast_path``, so the token, userinfo, introspection
and revocation tests run through the machine lane that production uses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    from guarita.oidc.endpoints import fast_path

    transport = httpx.ASGITransport(app=fast_path(app), client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
