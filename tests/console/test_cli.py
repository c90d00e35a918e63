"""``guarita staff add`` and ``guarita staff token create``, run as the real command.

Each run is a new process, so these run on SQLite only; the services behind them run on both
backends in the other tests of this folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from guarita.domain.audit_tags import AuditTag
from guarita.runtime import Runtime
from guarita.services import staff as staff_service
from tests.conftest import TEST_SECRET, make_settings
from tests.console.helpers import bearer, events
from tests.support.databases import SqliteFactory

GUARITA = Path(sys.executable).parent / "guarita"


@pytest.fixture(scope="module")
async def sqlite_factory() -> AsyncIterator[SqliteFactory]:
    factory = SqliteFactory()
    await factory.prepare()
    yield factory
    factory.cleanup()


@pytest.fixture
async def sqlite_runtime(sqlite_factory) -> AsyncIterator[Runtime]:
    runtime = Runtime.build(make_settings(await sqlite_factory.fresh(), base_url="https://guarita.example.org"))
    yield runtime
    await runtime.close()


async def guarita(runtime: Runtime, *args: str) -> tuple[int, str, str]:
    environment = {
        **os.environ,
        "GUARITA_ENV": "test",
        "GUARITA_SECRET_KEY": TEST_SECRET,
        "COLUMNS": "250",
        "NO_COLOR": "1",
        "GUARITA_BASE_URL": runtime.settings.base_url,
        "GUARITA_DATABASE_URL": runtime.db.url.render_as_string(hide_password=False),
    }
    process = await asyncio.create_subprocess_exec(
        str(GUARITA),
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode(), err.decode()


async def test_staff_add_prints_a_single_use_enrolment_link(sqlite_runtime):
    code, out, err = await guarita(
        sqlite_runtime,
        "staff",
        "add",
        "--email",
        "Ana@Example.org",
        "--name",
        "Ana Souza",
        "--role",
        "supervisor",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["staff"]["email"] == "ana@example.org" and data["staff"]["status"] == "pending"
    link = data["enrolment_link"]
    assert link.startswith("https://guarita.example.org/atendimento/ativar?token=")
    page = await staff_service.enrolment_page(sqlite_runtime, link.split("token=")[1])
    assert page.email == "ana@example.org" and page.role == "supervisor"
    [created] = await events(sqlite_runtime, AuditTag.STAFF_CREATED)
    assert created.actor.startswith("cli:")

    plain_code, plain, _ = await guarita(
        sqlite_runtime,
        "staff",
        "add",
        "--email",
        "bia@example.org",
        "--name",
        "Bia",
        "--role",
        "agent",
    )
    assert plain_code == 0 and "https://guarita.example.org/atendimento/ativar?token=" in plain

    again, _, err = await guarita(
        sqlite_runtime,
        "staff",
        "add",
        "--email",
        "ana@example.org",
        "--name",
        "Ana",
        "--role",
        "agent",
    )
    assert again == 1 and "Já existe" in err and "Traceback" not in err
    bad_role, _, err = await guarita(
        sqlite_runtime, "staff", "add", "--email", "c@example.org", "--name", "C", "--role", "root"
    )
    assert bad_role == 1 and "Papel inválido" in err

    listed_code, listed, _ = await guarita(sqlite_runtime, "staff", "list", "--json")
    assert listed_code == 0 and {p["email"] for p in json.loads(listed)} == {
        "ana@example.org",
        "bia@example.org",
    }


async def test_token_create_list_revoke(sqlite_runtime):
    import httpx

    from guarita.app import create_app

    code, out, err = await guarita(
        sqlite_runtime,
        "staff",
        "token",
        "create",
        "--scopes",
        "search,view",
        "--expires-days",
        "10",
        "--name",
        "CRM",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["token"].startswith("gst_") and data["scopes"] == ["search", "view"]
    app = create_app(runtime=sqlite_runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ok = await client.get("/api/v1/support/people", params={"q": "maria"}, headers=bearer(data["token"]))
        assert ok.status_code == 200
        code, out, _ = await guarita(sqlite_runtime, "staff", "token", "list", "--json")
        [listed] = json.loads(out)
        assert "token" not in listed and listed["active"] is True
        code, _, _ = await guarita(sqlite_runtime, "staff", "token", "revoke", str(listed["id"]))
        assert code == 0
        gone = await client.get("/api/v1/support/people", params={"q": "maria"}, headers=bearer(data["token"]))
        assert gone.status_code == 401
    bad, _, err = await guarita(sqlite_runtime, "staff", "token", "create", "--scopes", "staff")
    assert bad == 1 and "Escopos inválidos" in err
