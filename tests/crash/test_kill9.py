"""Crash safety (SECURITY.md › Reliability): acknowledged writes survive ``kill -9``.

A client registers beneficiaries and changes their passwords through the API of
``guarita serve --workers 2`` while the whole server (its process group: supervisor and
workers) is killed with SIGKILL at random moments and started again. After each restart every
write the client saw acknowledged (201 for a registration, 204 for a password change) must be
there, nothing may be half-written (an account without its credential or its card, a
credential or an identifier without an account), and ``guarita audit verify`` must hold at the
end.

* SQLite: a file in WAL mode with ``synchronous=FULL``, as configured (storage/database.py).
  The database lives inside the killed process, so each kill is also a database crash.
* PostgreSQL: a cluster of its own started with ``durable=True`` (fsync and
  ``synchronous_commit`` on). Every other kill also SIGKILLs the postmaster and its backends
  and restarts the cluster, which then runs crash recovery: a commit acknowledged before its
  WAL reached the disk would be lost there.

A kill -9 of processes cannot lose what the kernel already holds; a power cut could. What this
proves is the application's part: nothing is acknowledged before its transaction commits, and
no use case leaves a partial record behind.

Bounded in ``make test`` (``CRASH_KILLS``, default 3 per backend); ``make crash`` runs 20.
The numbers go to the summary table: kills, acknowledged writes, lost writes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import func, select, text

from guarita.runtime import Runtime
from guarita.storage.tables import Account, AccountIdentifier, Beneficiary, Credential
from tests.conftest import make_settings
from tests.e2e.stack import Person, write_registry
from tests.summary_plugin import record
from tests.support import postgres
from tests.support.factories import STRONG, make_cpf
from tests.support.server import GUARITA, ROOT, free_port, server_env

pytestmark = [pytest.mark.crash, pytest.mark.slow]

KILLS = int(os.environ.get("CRASH_KILLS", "3"))
CLIENTS = 4
PEOPLE = 300 + 120 * KILLS


def _people() -> list[Person]:
    return [Person(f"9{i:08d}", make_cpf(50_000 + i), date(1940 + i % 40, 1 + i % 12, 1 + i % 28),
                   f"Pessoa Teste {i}") for i in range(PEOPLE)]


def new_password(i: int) -> str:
    return f"frase trocada depois do cadastro {i}"


@dataclass
class Ledger:
    """What the client saw acknowledged; what was in flight when the server died is unknown."""

    registered: dict[str, int] = field(default_factory=dict)  # card → index
    changed: set[str] = field(default_factory=set)  # cards whose change got 204
    unknown_change: set[str] = field(default_factory=set)
    kills: int = 0
    next: int = 0

    @property
    def acknowledged(self) -> int:
        return len(self.registered) + len(self.changed)


class Server:
    """``guarita serve --workers 2`` in a process group of its own, so one SIGKILL takes the
    supervisor and both workers at once, as a crash of the machine's service would."""

    def __init__(self, env: dict[str, str], directory: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "GUARITA_BASE_URL": self.base}
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        log = (self.directory / "server.log").open("a")
        self.process = subprocess.Popen(  # noqa: S603
            [str(GUARITA), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "2"],
            env=self.env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.directory / "server.log").read_text()[-3000:])
            try:
                # Ready means the database answers; a worker still starting only takes its
                # share of the load a moment later.
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("o servidor não ficou pronto")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        # The workers die with the group; wait until nobody holds the port any more.
        for _ in range(100):
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.kill()


async def _client_run(base: str, people: list[Person], ledger: Ledger) -> None:
    """Registrations and password changes from ``CLIENTS`` tasks until the server dies."""

    async def one(http: httpx.AsyncClient) -> None:
        while ledger.next < len(people):
            i = ledger.next
            ledger.next += 1
            person = people[i]
            answer = await http.post("/api/v1/registrations", json={
                "card_number": person.card, "cpf": person.cpf,
                "birth_date": person.birth.isoformat(), "password": STRONG,
                "password_confirmation": STRONG})
            if answer.status_code != 201:
                raise AssertionError(f"cadastro recusado: {answer.status_code} {answer.text}")
            ledger.registered[person.card] = i
            token = answer.json()["session_token"]
            ledger.unknown_change.add(person.card)
            answer = await http.post(
                "/api/v1/me/password", headers={"Authorization": f"Bearer {token}"},
                json={"current_password": STRONG, "password": new_password(i),
                      "password_confirmation": new_password(i)})
            if answer.status_code != 204:
                raise AssertionError(f"troca recusada: {answer.status_code} {answer.text}")
            ledger.unknown_change.discard(person.card)
            ledger.changed.add(person.card)

    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30, connect=5)) as http:
        results = await asyncio.gather(*(one(http) for _ in range(CLIENTS)), return_exceptions=True)
    for result in results:
        if isinstance(result, AssertionError):
            raise result  # the server refused something it should have taken: a real failure
        # Anything else is the connection dying with the server: the write in flight is unknown.


def _client_until_killed(server: Server, people: list[Person], ledger: Ledger,
                         rng: random.Random) -> None:
    async def run() -> None:
        client = asyncio.create_task(_client_run(server.base, people, ledger))
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        server.kill()
        ledger.kills += 1
        await asyncio.wait_for(client, timeout=60)

    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own
        pool.submit(asyncio.run, run()).result()


async def _audit(database_url: str, people: list[Person], ledger: Ledger) -> tuple[int, int]:
    """(lost, half-written) after a restart, read straight from the database."""
    runtime = Runtime.build(make_settings(database_url))
    hasher = PasswordHasher()
    lost = half = 0
    try:
        async with runtime.db.transaction() as session:
            rows = (await session.execute(
                select(Beneficiary.card_number, Account.id, Credential.hash)
                .join(Account, Account.beneficiary_id == Beneficiary.id)
                .outerjoin(Credential, Credential.account_id == Account.id))).all()
            by_card = {card: (account_id, hashed) for card, account_id, hashed in rows}
            cards = {(a, k) for a, k in (await session.execute(
                select(AccountIdentifier.account_id, AccountIdentifier.kind))).all()}
            orphans = (await session.execute(text(
                "SELECT (SELECT count(*) FROM credentials c WHERE NOT EXISTS "
                "(SELECT 1 FROM accounts a WHERE a.id = c.account_id)) + "
                "(SELECT count(*) FROM account_identifiers i WHERE NOT EXISTS "
                "(SELECT 1 FROM accounts a WHERE a.id = i.account_id))"))).scalar_one()
            doubled = (await session.execute(
                select(Credential.account_id).group_by(Credential.account_id)
                .having(func.count() > 1))).all()
        half += orphans + len(doubled)
        for account_id, hashed in by_card.values():
            if hashed is None or not {(account_id, "card"), (account_id, "cpf")} <= cards:
                half += 1
        for card, i in ledger.registered.items():
            if card not in by_card:
                lost += 1
                continue
            hashed = by_card[card][1]
            if hashed is None:
                continue  # counted as half-written above
            if card in ledger.changed:
                candidates = [new_password(i)]
            elif card in ledger.unknown_change:  # in flight when the server died: either
                candidates = [STRONG, new_password(i)]
            else:
                candidates = [STRONG]
            if not any(_verifies(hasher, hashed, p) for p in candidates):
                lost += 1  # an acknowledged password change that did not stick
    finally:
        await runtime.close()
    return lost, half


def _verifies(hasher: PasswordHasher, hashed: str, password: str) -> bool:
    try:
        return hasher.verify(hashed, password)
    except VerifyMismatchError:
        return False


def _check(database_url: str, people: list[Person], ledger: Ledger) -> tuple[int, int]:
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _audit(database_url, people, ledger)).result()


def _prepare(directory: Path, database_url: str, env: dict[str, str], people: list[Person]) -> None:
    registry = directory / "cadastro.csv"
    write_registry(registry, people)
    for args in (["migrate"], ["import-beneficiaries", str(registry), "--json"]):
        done = subprocess.run([str(GUARITA), *args], env=env, cwd=directory,  # noqa: S603
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]


def _audit_chain(env: dict[str, str], directory: Path) -> dict:
    done = subprocess.run(  # noqa: S603
        [str(GUARITA), "audit", "verify", "--json"], env=env, cwd=directory,
        capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return json.loads(done.stdout)


class PostgresCrash:
    """Kills the durable cluster the hard way and brings it back (crash recovery)."""

    def __init__(self, cluster: postgres.Cluster) -> None:
        self.cluster = cluster

    def kill(self) -> None:
        pid_file = self.cluster.directory / "data" / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        children = _children(postmaster)
        for pid in [postmaster, *children]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            alive = [pid for pid in [postmaster, *children] if _alive(pid)]
            if not alive:
                break
            time.sleep(0.05)
        # A killed postmaster leaves its lock file. PostgreSQL removes a stale one itself when the
        # pid is gone, but here the dead postmaster may stay a zombie (this container's init does
        # not reap orphans), which PostgreSQL cannot tell from a live one: remove it, as an
        # operator does once sure the old server is dead.
        pid_file.unlink(missing_ok=True)
        socket = self.cluster.directory / f".s.PGSQL.{self.cluster.port}"
        for stale in (socket, socket.with_name(socket.name + ".lock")):
            stale.unlink(missing_ok=True)

    def start(self) -> None:
        c = self.cluster
        options = (f"-c listen_addresses=127.0.0.1 -p {c.port} -k {c.directory} "
                   "-c max_connections=200")
        done = subprocess.run(  # noqa: S603
            postgres._as_postgres(str(postgres.BIN / "pg_ctl"), "-D", str(c.directory / "data"),
                                  "-l", str(c.directory / "pg.log"), "-w", "-o", options, "start"),
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, (done.stdout, done.stderr,
                                      (c.directory / "pg.log").read_text()[-3000:])


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead enough.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_acknowledged_writes_survive_kill_9(kind, tmp_path):
    seed = int(os.environ.get("CRASH_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    people = _people()
    cluster = None
    if kind == "sqlite":
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'guarita.db'}"
    else:
        if not postgres.available():
            pytest.fail("PostgreSQL 15 não está instalado (make test instala com apt-get).")
        cluster = postgres.start(durable=True)
        database_url = cluster.url()
    env = server_env(database_url, GUARITA_RATE_LIMITS__REGISTRATION="100000/300",
                     GUARITA_CAPTCHA="off",  # crash safety under load, not the captcha
                     GUARITA_RATE_LIMITS__LOGIN="100000/300", GUARITA_LOG_LEVEL="ERROR")
    server = Server(env, tmp_path)
    ledger = Ledger()
    lost = half = 0
    try:
        _prepare(tmp_path, database_url, env, people)
        for round_ in range(KILLS):
            server.start()
            _client_until_killed(server, people, ledger, rng)
            if cluster is not None and round_ % 2 == 1:
                crash = PostgresCrash(cluster)
                crash.kill()
                crash.start()
            lost, half = _check(database_url, people, ledger)
            assert (lost, half) == (0, 0), (
                f"depois do kill {ledger.kills} (semente {seed}): {lost} escritas confirmadas "
                f"perdidas, {half} registros pela metade")
            assert ledger.next < len(people), "acabaram as pessoas de teste; aumente PEOPLE"
        if kind == "sqlite":
            import sqlite3

            with sqlite3.connect(tmp_path / "guarita.db") as db:
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        chain = _audit_chain(env, tmp_path)
        assert chain["ok"], chain
        assert ledger.acknowledged > 0, "nenhuma escrita confirmada: o cliente não chegou a rodar"
    finally:
        server.stop()
        record(crash_kills=ledger.kills, crash_acknowledged=ledger.acknowledged,
               crash_lost=lost, crash_half_written=half)
        print(f"\n[{kind}] semente {seed}: {ledger.kills} kills, {ledger.acknowledged} escritas "
              f"confirmadas ({len(ledger.registered)} cadastros, {len(ledger.changed)} trocas de "
              f"senha), {lost} perdidas, {half} pela metade")
        if cluster is not None:
            cluster.stop()
