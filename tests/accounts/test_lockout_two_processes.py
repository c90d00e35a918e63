"""The lockout is shared by two server processes on one PostgreSQL database (SECURITY.md › Throttling and lockout)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support.captcha import solve_remote
from tests.support.factories import STRONG, add_beneficiary
from tests.support.server import running_server, server_env


@pytest.mark.postgres
async def test_two_processes_share_the_lockout(runtime, backend):
    if backend != "postgresql":
        pytest.skip("the multi-process case is PostgreSQL's (SQLite serves one host)")
    b = await add_beneficiary(runtime)
    env = server_env(runtime.settings.database_url)
    with running_server(env) as (first, _), running_server(env) as (second, _):
        async with httpx.AsyncClient(timeout=30) as http:
            created = await http.post(f"{first}/api/v1/registrations", json={
                "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
                "password": STRONG, "password_confirmation": STRONG,
                "captcha": solve_remote(first)})
            assert created.status_code == 201, created.text
            wrong = {"identifier": b.card_number, "password": "errada errada errada"}
            answers = await asyncio.gather(*(
                http.post(f"{base}/api/v1/sessions", json=wrong)
                for base in (first, second, first, second, first)
            ))
            assert [a.status_code for a in answers] == [401] * 5
            for base in (first, second):
                locked = await http.post(f"{base}/api/v1/sessions",
                                         json={"identifier": b.card_number, "password": STRONG})
                assert locked.status_code == 429 and locked.json()["error"]["code"] == "too_many_attempts"
