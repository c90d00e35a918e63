"""The machine lane (``endpoints.fast_path``): token, userinfo, introspection and revocation
answered without FastAPI's routing, with everything the middleware stack does for them.

Each test sends the same request to the application as ``guarita serve`` builds it (wrapped)
and, where it compares, to the bare FastAPI application: the security headers, the body limit's
413, the access log line with the route's template, the metrics and the RFC 6749 §5.2 / RFC
6750 §3 error shapes must be the same. They fail if the lane skipped any of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from guarita.oidc.endpoints import fast_path, machine_routes
from tests.hardening.test_body_limit import HUGE, Stream, _is_payload_too_large
from tests.oidc.support import add_client, person, tokens_for

FORM = {"content-type": "application/x-www-form-urlencoded"}
# What SecurityMiddleware adds to every answer (web/middleware.py), and the provider's no-store.
SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "cross-origin-opener-policy",
    "permissions-policy",
)


@asynccontextmanager
async def over(asgi) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=asgi, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def _same_headers(fast: httpx.Response, full: httpx.Response) -> None:
    for name in (*SECURITY_HEADERS, "cache-control", "pragma", "content-type",
                 "www-authenticate"):
        assert fast.headers.get(name) == full.headers.get(name), name
    assert fast.headers["x-request-id"] and fast.headers["x-request-id"] != full.headers[
        "x-request-id"
    ]


def test_the_lane_holds_the_machine_endpoints_and_nothing_else(app):
    found = {path: sorted(methods) for path, methods in machine_routes(app).items()}
    standard = {path: methods for path, methods in found.items() if path.startswith("/oauth/")}
    assert standard == {
        "/oauth/token": ["POST"],
        "/oauth/userinfo": ["GET", "POST"],
        "/oauth/introspect": ["POST"],
        "/oauth/revoke": ["POST"],
    }
    # The browser endpoints (authorization, consent, logout) stay with FastAPI.
    for path in found:
        assert not path.startswith(("/oauth/authorize", "/oauth/logout", "/.well-known"))


def test_the_gov_br_profile_endpoints_join_the_lane(app):
    """The lane is read from the application's routes, so a profile's machine endpoints
    (oidc/govbr_endpoints.py) are on it without a list kept beside the router."""
    from guarita.oidc import govbr_endpoints

    paths = {r.path for r in govbr_endpoints.router.routes
             if getattr(r.endpoint, "machine", False)}
    assert "/govbr/token" in paths and paths <= set(machine_routes(app))


@pytest.mark.parametrize(
    "method,path,kw",
    [
        ("POST", "/oauth/token", {"data": {"grant_type": "client_credentials"}}),
        ("POST", "/oauth/token", {"data": {"grant_type": "password"}}),
        ("POST", "/oauth/token", {"content": b"{}", "headers": {"content-type": "application/json"}}),
        ("GET", "/oauth/userinfo", {}),
        ("GET", "/oauth/userinfo", {"headers": {"Authorization": "Bearer a.b.c"}}),
        ("POST", "/oauth/userinfo", {"data": {"access_token": "nada"}}),
        ("POST", "/oauth/introspect", {"data": {"token": "nada"}}),
        ("POST", "/oauth/revoke", {"data": {"token": "nada"}}),
        ("GET", "/oauth/token", {}),
    ],
)
async def test_errors_and_headers_are_the_full_stacks(app, method, path, kw):
    async with over(fast_path(app)) as fast, over(app) as full:
        a = await fast.request(method, path, **kw)
        b = await full.request(method, path, **kw)
    assert (a.status_code, a.json()) == (b.status_code, b.json())
    _same_headers(a, b)
    if path != "/oauth/token" or method != "GET":  # the 405 is FastAPI's, through the stack
        assert a.headers["cache-control"] == "no-store" and a.headers["pragma"] == "no-cache"
        assert set(a.json()) <= {"error", "error_description"}


async def test_userinfo_without_a_token_is_challenged(app):
    """RFC 6750 §3.1: no credentials, a challenge without an error code."""
    async with over(fast_path(app)) as fast:
        response = await fast.get("/oauth/userinfo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="guarita"'


async def test_a_client_that_fails_basic_authentication_is_told_the_scheme(runtime, app):
    c = await add_client(runtime)
    headers = {"Authorization": "Basic " + "eDp5"}  # x:y, not the client's secret
    async with over(fast_path(app)) as fast:
        response = await fast.post("/oauth/token", data={"grant_type": "client_credentials",
                                                         "client_id": c.id}, headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"] == 'Basic realm="guarita"'


async def test_successful_answers_carry_the_same_headers(runtime, app, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    async with over(fast_path(app)) as fast, over(app) as full:
        a = await fast.get("/oauth/userinfo", headers=bearer)
        f = await full.get("/oauth/userinfo", headers=bearer)
        assert a.status_code == f.status_code == 200 and a.json() == f.json()
        _same_headers(a, f)
        data = {"token": tokens["access_token"]}
        a = await fast.post("/oauth/introspect", data=data, headers=c.basic())
        f = await full.post("/oauth/introspect", data=data, headers=c.basic())
        assert a.json() == f.json() and a.json()["active"] is True
        _same_headers(a, f)


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke",
                                  "/oauth/userinfo"])
async def test_the_body_limit_holds_on_the_lane(app, runtime, path):
    async with over(fast_path(app)) as fast:
        declared = await fast.post(path, content=Stream(HUGE),
                                   headers={**FORM, "content-length": str(HUGE)})
        _is_payload_too_large(declared)
        stream = Stream(HUGE)
        streamed = await fast.post(path, content=stream, headers=FORM)
        _is_payload_too_large(streamed)
    assert stream.pulled <= runtime.settings.http.max_body_bytes + 16 * 1024


async def test_the_access_log_names_the_route_and_never_the_token(runtime, app, client):
    b = await person(runtime)
    c = await add_client(runtime)
    tokens = await tokens_for(client, c, b.card_number)
    async with over(fast_path(app)) as fast:
        with capture_logs() as logs:
            answered = await fast.post(
                "/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                headers=c.basic(),
            )
    assert answered.status_code == 200
    lines = [e for e in logs if e["event"] == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["method"], line["path"], line["status"]) == ("POST", "/oauth/token", 200)
    assert line["request_id"] == answered.headers["x-request-id"]
    assert tokens["refresh_token"] not in repr(logs)
    assert answered.json()["access_token"] not in repr(logs)


def _count(status: str) -> float:
    return REGISTRY.get_sample_value(
        "guarita_http_requests_total", {"method": "POST", "status": status}
    ) or 0.0


def _observed() -> float:
    return REGISTRY.get_sample_value("guarita_http_request_seconds_count") or 0.0


async def test_the_metrics_count_the_lanes_requests(app):
    before_400, before_401, seen = _count("400"), _count("401"), _observed()
    async with over(fast_path(app)) as fast:
        await fast.post("/oauth/token", data={"grant_type": "password"})
        await fast.post("/oauth/introspect", data={"token": "x"})
    assert _count("400") == before_400 + 1
    assert _count("401") == before_401 + 1
    assert _observed() == seen + 2
