"""``guarita outbox list`` and ``guarita outbox retry``, run as the real command.

Each run is a new process (about a second of imports), so these run on SQLite only; the queries
behind them run on both backends in ``test_outbox_queries.py`` and ``test_dev_outbox.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from guarita.runtime import Runtime
from guarita.storage.tables import OutboxMessage
from tests.conftest import TEST_SECRET, make_settings
from tests.messaging.helpers import enqueue_test_message, load
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
    runtime = Runtime.build(make_settings(await sqlite_factory.fresh()))
    yield runtime
    await runtime.close()


async def guarita(runtime: Runtime | None, *args: str, env: str = "test") -> tuple[int, str, str]:
    environment = {
        **os.environ, "GUARITA_ENV": env, "GUARITA_SECRET_KEY": TEST_SECRET, "COLUMNS": "250",
        "NO_COLOR": "1",
    }
    if runtime is not None:
        environment["GUARITA_DATABASE_URL"] = runtime.db.url.render_as_string(hide_password=False)
    process = await asyncio.create_subprocess_exec(
        str(GUARITA), *args, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode(), err.decode()


async def make_failed(runtime: Runtime) -> int:
    message_id = await enqueue_test_message(runtime, to="falhou@example.org", code="909090")
    async with runtime.db.transaction() as session:
        row = await session.get(OutboxMessage, message_id)
        row.status, row.attempts, row.last_error = "failed", 8, "SMTPConnectError: recusado"
    return message_id


async def test_list_as_json_and_as_a_table(sqlite_runtime):
    runtime = sqlite_runtime
    pending = await enqueue_test_message(runtime, to="maria@example.org", code="482913")
    failed = await make_failed(runtime)

    # Read-only runs, side by side to keep the suite quick.
    as_json, only_failed, with_text = await asyncio.gather(
        guarita(runtime, "outbox", "list", "--json"),
        guarita(runtime, "outbox", "list", "--status", "failed"),
        guarita(runtime, "outbox", "list", "--show-text", "--limit", "1"),
    )
    assert as_json[0] == 0, as_json[2]
    listed = json.loads(as_json[1])
    assert [m["id"] for m in listed] == [failed, pending]
    assert listed[0]["status"] == "failed" and listed[0]["last_error"].startswith("SMTP")
    assert "text" not in listed[0], "texts only with --show-text"

    code, out, _ = only_failed
    assert code == 0, only_failed[2]
    assert "falhou@example.org" in out and "SMTPConnectError" in out and "falhou" in out
    assert "maria@example.org" not in out and "909090" not in out

    code, out, _ = with_text
    assert code == 0 and "909090" in out and "maria@example.org" not in out


async def test_show_text_is_refused_in_production():
    code, out, err = await guarita(None, "outbox", "list", "--show-text", env="production")
    assert code == 1 and "produção" in err and out == ""


async def test_retry_puts_a_failed_message_back_in_the_queue(sqlite_runtime):
    runtime = sqlite_runtime
    failed = await make_failed(runtime)

    (code, out, _), unknown = await asyncio.gather(
        guarita(runtime, "outbox", "retry", str(failed)),
        guarita(runtime, "outbox", "retry", "999999"),
    )
    assert code == 0 and f"mensagem {failed} voltou para a fila" in out
    row = await load(runtime, failed)
    assert (row.status, row.attempts) == ("pending", 0)
    assert row.last_error == "SMTPConnectError: recusado"
    assert unknown[0] == 1 and "não existe" in unknown[2] and "Traceback" not in unknown[2]
