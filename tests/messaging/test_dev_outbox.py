"""``/dev/outbox`` and ``/dev/outbox.json`` (DESIGN.md › Contracts): every message, readable,
outside production only."""

from __future__ import annotations

import httpx
import pytest

from guarita.app import create_app
from guarita.config import Environment
from guarita.runtime import Runtime
from tests.conftest import make_settings
from tests.messaging.helpers import enqueue_test_message

KEYS = {"id", "channel", "to", "subject", "text", "created_at", "status", "attempts", "last_error"}


async def test_json_lists_every_message_newest_first(client, runtime):
    first = await enqueue_test_message(runtime, to="maria@example.org", code="111111")
    second = await enqueue_test_message(runtime, channel="sms", to="+5511987654321", code="222222")

    response = await client.get("/dev/outbox.json")
    assert response.status_code == 200
    listed = response.json()
    assert [m["id"] for m in listed] == [second, first]
    assert all(set(m) == KEYS for m in listed)
    sms, email = listed
    assert (sms["channel"], sms["to"], sms["subject"]) == ("sms", "+5511987654321", "")
    assert "222222" in sms["text"]
    assert email["channel"] == "email" and email["subject"].startswith("Mensagem de teste")
    assert "Código de teste: 111111" in email["text"]
    assert (email["status"], email["attempts"], email["last_error"]) == ("pending", 0, None)


async def test_json_filters_by_recipient_and_limits(client, runtime):
    for i in range(3):
        await enqueue_test_message(runtime, to="jose@example.org", code=f"00000{i}")
    await enqueue_test_message(runtime, to="outra@example.org")

    only_jose = (await client.get("/dev/outbox.json", params={"to": "jose@example.org"})).json()
    assert [m["to"] for m in only_jose] == ["jose@example.org"] * 3
    newest = (await client.get("/dev/outbox.json", params={"limit": 2})).json()
    assert len(newest) == 2 and newest[0]["to"] == "outra@example.org"
    bad = await client.get("/dev/outbox.json", params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "limit"


async def test_html_page_shows_the_text_pre_wrapped(client, runtime):
    message_id = await enqueue_test_message(runtime, to="maria@example.org", code="482913")
    other = await enqueue_test_message(runtime, to="<script>@example.org")

    response = await client.get("/dev/outbox")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="pt-BR">' in page
    assert f'data-message-id="{message_id}"' in page
    assert '<pre class="dev-outbox-text">' in page and "Código de teste: 482913" in page
    # The code stands out in its own element, large and selectable with one tap.
    assert '<output class="dev-outbox-code" data-code>482913</output>' in page
    assert "na fila" in page
    assert "<script>@example.org" not in page and "&lt;script&gt;@example.org" in page

    filtered = (await client.get("/dev/outbox", params={"to": "maria@example.org"})).text
    assert f'data-message-id="{message_id}"' in filtered
    assert f'data-message-id="{other}"' not in filtered


async def test_empty_outbox_page(client):
    response = await client.get("/dev/outbox")
    assert response.status_code == 200 and "Nenhuma mensagem" in response.text


@pytest.fixture
async def production_client(database_factory):
    settings = make_settings(
        await database_factory.fresh(), env=Environment.PRODUCTION,
        base_url="https://entrar.exemplo.gov.br", secret_key="x" * 48,
    )
    runtime = Runtime.build(settings)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as http:
        yield http
    await runtime.close()


async def test_dev_routes_do_not_exist_in_production(production_client):
    for path in ("/dev/outbox", "/dev/outbox.json"):
        response = await production_client.get(path)
        assert response.status_code == 404, path
