"""The desk's search is no longer an oracle (SECURITY.md › Data; OWASP ASVS 5.0 V2.4).

The attack the review reproduced: exact-CPF searches with masked answers rebuilt a full CPF in
894 searches (4.5 s), a full name in 206 prefix searches; card and phone likewise. Now every
actor has a search budget (fewer for API tokens), a full identifier is searched only inside an
open call (with its reason), the audit keeps a keyed hash of each query (never the query), and
heavy searchers show on the supervisor dashboard.
"""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.services.support.search import search_rate
from guarita.storage.tables import AuditEvent
from tests.console.helpers import api_token, bearer, person, quick_staff, session_client
from tests.support.factories import format_cpf


async def _search(client, token, q, **params):  # noqa: ANN001, ANN003, ANN202
    return await client.get(
        "/api/v1/support/people", params={"q": q, **params}, headers=bearer(token)
    )


async def test_a_full_identifier_needs_an_open_call(runtime, client):
    b = await person(runtime)
    token = await api_token(runtime, "search")
    for q in (b.cpf, b.card_number, b.email, "(61) 99123-4567"):
        refused = await _search(client, token, q)
        assert refused.status_code == 422, q
        assert refused.json()["error"]["code"] == "reason_required"
        assert refused.json()["error"]["field"] == "reason"
        assert (await _search(client, token, q, reason="contato")).status_code == 200, q
    # A name prefix is what a caller without documents gives; it needs no open call.
    assert (await _search(client, token, "maria")).status_code == 200


async def test_the_console_search_form_asks_for_the_reason(app, runtime):
    b = await person(runtime)
    agent = await quick_staff(runtime, "agent")
    async with await session_client(app, runtime, agent) as browser:
        refused = await browser.get("/atendimento", params={"q": format_cpf(b.cpf)})
        assert refused.status_code == 422 and "motivo da ligação" in refused.text
        assert f"/atendimento/pessoas/{b.id}" not in refused.text
        found = await browser.get(
            "/atendimento", params={"q": format_cpf(b.cpf), "reason": "contato"}
        )
        assert found.status_code == 200 and f"/atendimento/pessoas/{b.id}" in found.text


async def test_an_api_token_runs_out_of_searches_and_each_actor_has_its_own_budget(
    runtime, client
):
    """The 894-search reconstruction stops after the budget: a token may search 20 times in
    10 minutes by default, an agent 60."""
    b = await person(runtime)
    token = await api_token(runtime, "search")
    limit, window = search_rate(runtime.settings, _TokenActor())
    assert (limit, window) == (20, 600)
    answers = [
        (await _search(client, token, f"{b.cpf[:9]}{n:02d}", kind="cpf", reason="contato")).status_code
        for n in range(limit)
    ]
    assert set(answers) <= {200, 422}  # most guesses are not valid CPFs: still counted
    over = await _search(client, token, b.cpf, kind="cpf", reason="contato")
    assert over.status_code == 429, over.text
    assert over.json()["error"]["code"] == "rate_limited"
    assert 0 < int(over.headers["retry-after"]) <= window
    # Another token has its own budget.
    other = await api_token(runtime, "search", name="BI")
    assert (await _search(client, other, "maria")).status_code == 200


class _TokenActor:
    kind = "token"


async def test_the_audit_keeps_a_keyed_hash_of_each_query_never_the_query(runtime, client):
    b = await person(runtime)
    token = await api_token(runtime, "search")
    for _ in range(2):
        await _search(client, token, b.cpf, kind="cpf", reason="contato")
    await _search(client, token, "maria")
    async with runtime.db.read() as session:
        searched = (await session.execute(
            select(AuditEvent).where(AuditEvent.tag == str(AuditTag.SUPPORT_SEARCHED))
            .order_by(AuditEvent.id)
        )).scalars().all()
    first, second, by_name = searched
    assert first.details["queries"] == second.details["queries"]  # the same person sought twice
    assert first.details["queries"] != by_name.details["queries"]
    assert first.details["reason"] == "contato" and "reason" not in by_name.details
    for event in searched:
        text = json.dumps(event.details)
        assert b.cpf not in text and "maria" not in text.lower()
        assert all(len(h) == 32 for h in event.details["queries"])
    # Keyed: another secret key gives other hashes for the same query.
    from guarita.services.support.search import query_hash

    other = runtime.settings.model_copy(update={"secret_key": SecretStr("x" * 64)})
    assert query_hash(other, "cpf", b.cpf) != first.details["queries"][0]


class TestDashboard:
    @pytest.fixture
    def settings_overrides(self) -> dict:
        return {"support": {"search_alert_per_day": 5}}

    async def test_unusual_volumes_show_on_the_supervisor_dashboard(self, app, runtime, client):
        await person(runtime)
        token = await api_token(runtime, "search", name="CRM suspeito")
        for _ in range(6):
            await _search(client, token, "maria")
        quiet = await api_token(runtime, "search", name="CRM calmo")
        await _search(client, quiet, "maria")
        board = await client.get(
            "/api/v1/support/dashboard", headers=bearer(await api_token(runtime, "dashboard"))
        )
        [heavy] = board.json()["heavy_searchers"]
        assert heavy["searches_24h"] == 6 and "CRM suspeito" in heavy["name"]
        supervisor = await quick_staff(runtime, "supervisor")
        async with await session_client(app, runtime, supervisor) as browser:
            page = await browser.get("/atendimento/painel")
        assert "Buscas fora do comum" in page.text and "CRM suspeito" in page.text
        assert "CRM calmo" not in page.text
