"""Fixtures shared by the whole suite.

``backend`` runs a test once on SQLite and once on a real PostgreSQL 15 cluster that the suite
starts on loopback (``tests/support/postgres.py``) and stops at the end. Tests that take the
``runtime`` or ``client`` fixtures therefore form the storage contract suite of DESIGN.md.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

from guarita.config import Environment, PasswordPolicy, Settings
from guarita.runtime import Runtime
from tests.support import pgbouncer, postgres
from tests.support.databases import PostgresFactory, SqliteFactory

# The table at the end of make test (docs/testing.md); the outside OpenID provider's fixture.
pytest_plugins = ["tests.summary_plugin", "tests.support.upstream"]

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hmac-0123456789"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends", default=os.environ.get("GUARITA_TEST_BACKENDS", "sqlite,postgresql"),
        help="comma-separated: sqlite, postgresql, pgbouncer (PostgreSQL through PgBouncer in "
             "transaction mode; modules marked pgbouncer get it with postgresql)",
    )


# Run once more through PgBouncer (with postgresql among --backends): the races, the plain-SQL
# reads of userinfo, the outbox worker's claims. A module can also say
# ``pytestmark = pytest.mark.pgbouncer``.
PGBOUNCER_MODULES = (
    "tests/races/test_races.py", "tests/oidc/test_userinfo.py",
    "tests/messaging/test_worker.py",
)


def _backends(config: pytest.Config) -> list[str]:
    return [b.strip() for b in config.getoption("--backends").split(",") if b.strip()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = _backends(metafunc.config)
        # The storage contract once more through PgBouncer, for a bounded set of modules.
        chosen = metafunc.definition.get_closest_marker("pgbouncer") or any(
            str(metafunc.definition.path).endswith(module) for module in PGBOUNCER_MODULES)
        if "postgresql" in backends and "pgbouncer" not in backends and chosen:
            backends = [*backends, "pgbouncer"]
        metafunc.parametrize("backend", backends, scope="session")


# Tests that compare timings or hold a request to a time bound, and those that kill or race
# server processes: ``make test`` runs them alone after the parallel part (``-m serial``), so
# another worker's load never decides them (docs/testing.md › Time).
SERIAL = (
    "accounts/test_enumeration_timing.py", "accounts/test_legacy_timing.py",
    "accounts/test_lockout_two_processes.py", "console/test_staff_timing.py",
    "hardening/test_code_request_timing.py", "recovery/test_recovery_api.py",
    "recovery/test_captcha_providers.py", "upstream/test_bank_recovery.py",
    "messaging/test_email_delivery.py", "cli/test_serve_workers.py", "faults/", "crash/", "races/", "cluster/",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath / "tests"
    for item in items:
        if not item.path.is_relative_to(root):
            continue
        where = item.path.relative_to(root).as_posix()
        if where.startswith(SERIAL):
            item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="session")
def postgres_cluster():
    url = os.environ.get("GUARITA_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if not postgres.available():
        pytest.fail("PostgreSQL 15 não está instalado (make test instala com apt-get).")
    cluster = postgres.start()
    yield cluster.url()
    cluster.stop()


@pytest.fixture(scope="session")
def pgbouncer_server(postgres_cluster):
    """PgBouncer (transaction mode) in front of the suite's PostgreSQL."""
    if not pgbouncer.available():
        pytest.fail("PgBouncer não está instalado (make test instala com apt-get).")
    bouncer = pgbouncer.start(postgres_cluster)
    yield bouncer
    bouncer.stop()


@pytest.fixture(scope="session")
async def database_factory(backend: str, request: pytest.FixtureRequest):
    if backend == "sqlite":
        factory = SqliteFactory()
    elif backend == "pgbouncer":
        bouncer = request.getfixturevalue("pgbouncer_server")
        factory = PostgresFactory(request.getfixturevalue("postgres_cluster"),
                                  database="guarita_test_pgbouncer")
        factory.serve_url = bouncer.url("guarita_test_pgbouncer")
    else:
        factory = PostgresFactory(request.getfixturevalue("postgres_cluster"))
    await factory.prepare()
    yield factory
    factory.cleanup()


def make_settings(database_url: str, **overrides) -> Settings:  # noqa: ANN003
    values = dict(
        env=Environment.TEST,
        database_url=database_url,
        secret_key=TEST_SECRET,
        base_url="http://testserver",
        run_worker_in_server=False,
        captcha="altcha",
        captcha_cost=50,  # the widget's real cost is 5000; the suite solves thousands
        # No padding of wrong-password answers except where a test measures it.
        password=PasswordPolicy(failure_floor_ms=0),
        # The suite's people register from one made-up address and sign in from another with
        # another client: every such sign-in would be a "new device on a new network". The fraud
        # guard's tests (tests/guard) turn this trigger on where they test it.
        guard={"new_device_hold_hours": 0},
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict:
    """Override in a test module to change settings for its runtime."""
    return {}


@pytest.fixture
async def runtime(database_factory, settings_overrides) -> AsyncIterator[Runtime]:
    url = await database_factory.fresh()
    rt = Runtime.build(make_settings(url, **settings_overrides))
    yield rt
    await rt.close()


@pytest.fixture
async def app(runtime: Runtime):
    from guarita.app import create_app

    application = create_app(runtime=runtime)
    yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
