"""The promised races again, through real HTTP against ``guarita serve --workers 2``: two
processes, two connection pools, one database (SQLite WAL file or PostgreSQL). In-process
``asyncio.gather`` proves the SQL; this proves it when the requests really run in parallel on
two cores."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from guarita.runtime import Runtime
from guarita.services import throttling
from guarita.storage.tables import Account, Beneficiary, Credential
from tests.conftest import make_settings
from tests.e2e.stack import OURS, prepare, stack_env
from tests.support.factories import STRONG
from tests.support.server import running_server

pytestmark = [pytest.mark.race]

CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@pytest.fixture(scope="module")
def two_workers(backend, request, tmp_path_factory):  # noqa: ANN001, ANN201
    directory = tmp_path_factory.mktemp(f"races-{backend}")
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / 'guarita.db'}"
    else:
        server = request.getfixturevalue("postgres_cluster")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own
            pool.submit(asyncio.run, _fresh_database(server, "guarita_races")).result()
        url = server.rsplit("/", 1)[0] + "/guarita_races"
    env = stack_env(url, smtp_port=9, GUARITA_CAPTCHA="off", GUARITA_RUN_WORKER_IN_SERVER="false",
                    GUARITA_LOCKOUT__FREE_FAILURES="1000")
    prepare(directory, url, env, via_cli=False, demo=False)
    with running_server(env, workers=2) as (base, _process):
        yield base, url


async def _fresh_database(server_url: str, name: str) -> None:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        await conn.exec_driver_sql(f"CREATE DATABASE {name}")
    await admin.dispose()


async def _db(url: str) -> Runtime:
    return Runtime.build(make_settings(url))


async def test_one_code_sent_twenty_times_at_once_through_two_processes(two_workers):
    base, _ = two_workers
    person = OURS["kba"]  # registered here, recovered by e-mail
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await _register(http, person)
        started = (await http.post("/api/v1/recoveries", json={"identifier": person.card})).json()
        rid = started["recovery_id"]
        assert (await http.post(f"/api/v1/recoveries/{rid}/code-requests",
                                json={"method": "email"})).status_code == 202
        outbox = (await http.get("/dev/outbox.json", params={"to": person.email})).json()
        code = next(CODE.search(m["text"]).group(1) for m in outbox
                    if m["subject"] and CODE.search(m["text"] or ""))
        answers = await asyncio.gather(*(
            http.post(f"/api/v1/recoveries/{rid}/code", json={"code": code}) for _ in range(20)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1, statuses
    assert all(s in (400, 409, 410, 429) for s in statuses if s != 200), statuses


async def test_two_registrations_of_one_beneficiary_at_once_through_two_processes(two_workers):
    base, url = two_workers
    people = [OURS["lockout"], OURS["password"], OURS["keyboard_login"]]
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for person in people:
            answers = await asyncio.gather(_register(http, person, check=False),
                                           _register(http, person, check=False))
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [201, 422], (person.card, [a.text for a in answers])
            assert [a.json()["error"]["code"] for a in answers if a.status_code == 422] == \
                ["beneficiary_not_matched"]
    runtime = await _db(url)
    try:
        async with runtime.db.transaction() as session:
            for person in people:
                accounts = (await session.execute(
                    select(func.count()).select_from(Account).join(
                        Beneficiary, Beneficiary.id == Account.beneficiary_id)
                    .where(Beneficiary.card_number == person.card))).scalar_one()
                credentials = (await session.execute(
                    select(func.count()).select_from(Credential).join(
                        Account, Account.id == Credential.account_id).join(
                        Beneficiary, Beneficiary.id == Account.beneficiary_id)
                    .where(Beneficiary.card_number == person.card))).scalar_one()
                assert (accounts, credentials) == (1, 1), person.card
    finally:
        await runtime.close()


async def test_fifty_wrong_passwords_in_parallel_through_two_processes(two_workers):
    base, url = two_workers
    person = OURS["errors"]
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        await _register(http, person)
        answers = await asyncio.gather(*(
            http.post("/api/v1/sessions", json={"identifier": person.card,
                                                "password": f"errada número {i} bem comprida"})
            for i in range(50)))
    assert sorted({a.status_code for a in answers}) == [401], [a.text for a in answers][:3]
    runtime = await _db(url)
    try:
        async with runtime.db.transaction() as session:
            account_id = (await session.execute(
                select(Account.id).join(Beneficiary, Beneficiary.id == Account.beneficiary_id)
                .where(Beneficiary.card_number == person.card))).scalar_one()
            assert await throttling.failures(session, f"login:acct:{account_id}") == 50
    finally:
        await runtime.close()


async def _register(http: httpx.AsyncClient, person, check: bool = True) -> httpx.Response:  # noqa: ANN001
    answer = await http.post("/api/v1/registrations", json={
        "card_number": person.card, "cpf": person.cpf, "birth_date": person.birth.isoformat(),
        "password": STRONG, "password_confirmation": STRONG})
    if check:
        assert answer.status_code == 201, answer.text
    return answer
