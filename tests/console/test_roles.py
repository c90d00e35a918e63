"""Roles on every route: walks every console page and every support API call, for anonymous,
agent, supervisor and admin (console) and for tokens with and without the scope (API).

The expected table is written out here from the issue, not read from ``domain/roles.py``, so a
wrong entry there fails this test.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from guarita.console import api as console_api
from guarita.console import web as console_web
from guarita.services import staff as staff_service
from guarita.storage.support_tables import SupportApiToken
from guarita.storage.types import utcnow
from tests.console.helpers import (
    CTX,
    api_token,
    bearer,
    person,
    quick_staff,
    session_client,
)
from tests.support.html import csrf_of

AGENT = {"search", "view", "caller_check", "reveal_card", "contacts", "unlock", "recovery"}
SUPERVISOR = AGENT | {"password_reenable", "account_status", "identity_check", "dashboard",
                      "second_factor_remove",  # docs/two-step.md › The support desk
                      "privacy_requests"}  # docs/privacy.md › Pedidos
ADMIN = SUPERVISOR | {"staff", "tokens"}
EXPECTED = {"agent": AGENT, "supervisor": SUPERVISOR, "admin": ADMIN}
FORBIDDEN_TEXT = "Você não tem permissão para esta operação."


def _walk(routes, prefix: str = ""):  # noqa: ANN001, ANN202
    """Every (path, methods) the app serves, through included routers (FastAPI ≥ 0.16x keeps
    them as nested entries instead of copying their routes)."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _walk(nested.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "methods") and hasattr(route, "path"):
            yield prefix + route.path, route.methods or set()


def routes_of(app, *prefixes: str) -> set[tuple[str, str]]:  # noqa: ANN001
    found = set()
    for path, methods in _walk(app.routes):
        if path.startswith(prefixes):
            for method in set(methods) - {"HEAD"}:
                found.add((method, path))
    return found


def fill(path: str, values: dict[str, object]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


async def test_every_console_and_api_route_declares_what_it_needs(app):
    assert routes_of(app, "/atendimento") == set(console_web.ROUTES)
    assert routes_of(app, "/api/v1/support") == set(console_api.ROUTES)
    assert len(console_web.ROUTES) >= 20 and len(console_api.ROUTES) >= 12


async def test_console_roles_on_every_route(app, runtime):
    b = await person(runtime)
    target = await quick_staff(runtime, "agent", email="alvo@example.org")
    token = await staff_service.create_token(
        runtime, name="alvo", scopes="search", expires_days=5, created_by="test", context=CTX
    )
    values = {"person_id": b.id, "change_id": "0" * 32, "staff_id": target.id, "token_id": token.id,
              "request_id": "0" * 32}
    members = {role: await quick_staff(runtime, role) for role in EXPECTED}
    checked = 0
    for (method, path), needs in sorted(console_web.ROUTES.items()):
        url = fill(path, values)
        for role in (None, *EXPECTED):
            # A fresh session per request: sign-out and resets must not spoil the next one.
            async with await session_client(app, runtime, members[role] if role else None) as client:
                page = "/atendimento" if role else "/atendimento/entrar"
                csrf = csrf_of((await client.get(page)).text)
                if method == "GET":
                    response = await client.get(url)
                else:
                    response = await client.post(url, data={"csrf_token": csrf})
            label = f"{method} {path} as {role or 'anonymous'}: {response.status_code}"
            if needs == console_web.PUBLIC:
                assert response.status_code != 403, label
            elif role is None:
                expected = 303 if method == "GET" else 401
                assert response.status_code == expected, label
                if method == "GET":
                    assert response.headers["location"].startswith("/atendimento/entrar"), label
            elif needs == console_web.SIGNED_IN or needs in EXPECTED[role]:
                assert response.status_code not in (401, 403), label
                assert FORBIDDEN_TEXT not in response.text, label
            else:
                assert response.status_code == 403, label
                assert FORBIDDEN_TEXT in response.text, label
            checked += 1
    assert checked == len(console_web.ROUTES) * 4


async def test_api_scopes_on_every_call(app, runtime, client):
    b = await person(runtime)
    values = {"person_id": b.id, "change_id": "0" * 32}
    all_scopes = sorted(set().union(*EXPECTED.values()) - {"staff", "tokens", "privacy_requests"})
    for (method, path), needs in sorted(console_api.ROUTES.items()):
        url = fill(path, values)
        only = await api_token(runtime, [str(needs)])
        others = await api_token(runtime, [s for s in all_scopes if s != str(needs)])
        params = {"q": "maria"} if path.endswith("/people") else None
        for token, expect_forbidden in ((only, False), (others, True)):
            response = await client.request(
                method,
                url,
                headers=bearer(token),
                params=params,
                json={} if method == "POST" else None,
            )
            label = f"{method} {path} with {'only' if not expect_forbidden else 'other'} scopes"
            body = response.json()
            if expect_forbidden:
                assert response.status_code == 403 and body["error"]["code"] == "forbidden", label
            else:
                assert response.status_code not in (401, 403), (label, body)
        anonymous = await client.request(method, url, params=params)
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthenticated"


async def test_api_refuses_expired_revoked_unknown_tokens_and_staff_cookies(app, runtime, client):
    b = await person(runtime)
    token = await api_token(runtime, "search,view")
    url = f"/api/v1/support/people/{b.id}"
    assert (await client.get(url, headers=bearer(token))).status_code == 200
    assert (await client.get(url, headers=bearer(token + "x"))).status_code == 401
    assert (await client.get(url, headers=bearer("gst_" + "a" * 43))).status_code == 401
    assert (await client.get(url, headers={"Authorization": f"Basic {token}"})).status_code == 401
    async with runtime.db.transaction() as session:
        await session.execute(update(SupportApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await client.get(url, headers=bearer(token))).status_code == 401
    fresh = await api_token(runtime, "search,view")
    listed = await staff_service.list_tokens(runtime)
    await staff_service.revoke_token(runtime, listed[0].id, actor="test", context=CTX)
    assert (await client.get(url, headers=bearer(fresh))).status_code == 401
    # A staff session is for the console only.
    member = await quick_staff(runtime, "admin")
    async with await session_client(app, runtime, member) as staff_browser:
        assert (await staff_browser.get(url)).status_code == 401


async def test_tokens_can_never_manage_staff_or_tokens(runtime):
    import pytest

    from guarita.domain.errors import GuaritaError

    for scope in ("staff", "tokens", "admin", "search,staff", "privacy_requests"):
        with pytest.raises(GuaritaError) as exc:
            await api_token(runtime, scope)
        assert exc.value.field == "scopes"
