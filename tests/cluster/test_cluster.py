"""Guarita as a cluster (docs/scale.md): ``scripts/cluster/start.sh`` — the script behind
``make cluster`` — starts PostgreSQL 15, PgBouncer in transaction mode, two ``guarita serve``
processes, one outbox worker and HAProxy on loopback, in a folder and on ports of the test's own.

What a cluster must not break: a session made through one server is valid on the other; the
lockout count is one count whichever server takes the attempt; a code sent by one server is
redeemed through the other; killing one server mid-load loses no acknowledged write and the
balancer routes around it; with two workers the outbox delivers each message exactly once.
Every request goes through PgBouncer, so this is also Guarita on transaction pooling.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from guarita.services.registry_rows import name_search_key
from guarita.web.dev_outbox import code_of
from tests.e2e.stack import Person
from tests.support.cluster import START, STOP, free_base
from tests.support.factories import STRONG, make_cpf
from tests.support.server import GUARITA, ROOT

pytestmark = [pytest.mark.slow]

PEOPLE = [Person(f"7{i:08d}", make_cpf(70_000 + i), date(1950 + i % 40, 1 + i % 12, 1 + i % 28),
                 f"Pessoa Cluster {i}") for i in range(400)]


class Cluster:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_base()
        self.base = f"http://127.0.0.1:{self.port}"
        self.servers = [f"http://127.0.0.1:{self.port + 1}", f"http://127.0.0.1:{self.port + 2}"]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GUARITA_")}
        self.env.update(
            CLUSTER_DIR=str(directory), CLUSTER_PORT=str(self.port),
            CLUSTER_PG_OPTIONS="-c fsync=off -c full_page_writes=off",
            GUARITA_ENV="test", GUARITA_LOG_LEVEL="WARNING", GUARITA_CAPTCHA="off",
            GUARITA_OUTBOX__POLL_SECONDS="0.2",
            GUARITA_RATE_LIMITS__LOGIN="10000/300", GUARITA_RATE_LIMITS__REGISTRATION="10000/300",
            GUARITA_RATE_LIMITS__RECOVERY="10000/300", GUARITA_RATE_LIMITS__CODE="10000/300",
        )

    def script(self, path: Path) -> str:
        done = subprocess.run(["/bin/bash", str(path)], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return done.stdout

    def guarita_env(self) -> dict[str, str]:
        """The environment of the cluster's Guarita processes, as common.sh builds it."""
        out = subprocess.run(
            ["/bin/bash", "-c", f"source {ROOT}/scripts/cluster/common.sh && guarita_env && env -0"],
            env=self.env, capture_output=True, text=True, check=True,
        ).stdout
        return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)

    def psql(self, sql: str) -> str:
        return subprocess.run(
            ["/usr/lib/postgresql/15/bin/psql", "-h", "127.0.0.1", "-p", str(self.port + 4),
             "-U", "guarita", "-d", "guarita", "-Atqc", sql],
            capture_output=True, text=True, check=True,
        ).stdout

    def pid(self, name: str) -> int:
        return int((self.directory / "run" / f"{name}.pid").read_text())


@pytest.fixture(scope="module")
def cluster():
    for binary in ("/usr/sbin/pgbouncer", "/usr/sbin/haproxy"):
        if not Path(binary).exists():
            pytest.fail(f"{binary} não está instalado (make test instala com apt-get).")
    # Not under pytest's temporary folder (0700): PostgreSQL and PgBouncer run as postgres.
    directory = Path(tempfile.mkdtemp(prefix="guarita-cluster-"))
    directory.chmod(0o755)
    running = Cluster(directory)
    try:
        running.script(START)
        # The registry straight into PostgreSQL, as a bulk load would (docs/scale.md): the
        # import command's checks are tested elsewhere; here each second counts.
        rows = ", ".join(
            f"('{p.card}', '{p.cpf}', '{p.birth.isoformat()}', '{p.name}', "
            f"'{name_search_key(p.name)}', now(), now())" for p in PEOPLE)
        columns = "card_number, cpf, birth_date, name, name_search, created_at, updated_at"
        running.psql(f"INSERT INTO beneficiaries ({columns}) VALUES {rows}")  # noqa: S608
        yield running
    finally:
        running.script(STOP)
        shutil.rmtree(directory, ignore_errors=True)


def _register(base: str, person: Person) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/registrations", timeout=30, json={
        "card_number": person.card, "cpf": person.cpf, "birth_date": person.birth.isoformat(),
        "password": STRONG, "password_confirmation": STRONG})


def test_start_is_idempotent_and_the_balancer_checks_readyz(cluster):
    pids = {name: cluster.pid(name) for name in ("server1", "server2", "worker", "haproxy")}
    cluster.script(START)
    assert {name: cluster.pid(name) for name in pids} == pids
    config = (cluster.directory / "haproxy.cfg").read_text()
    assert "option httpchk GET /readyz" in config
    pgbouncer = (cluster.directory / "pgbouncer" / "pgbouncer.ini").read_text()
    assert "pool_mode = transaction" in pgbouncer
    assert httpx.get(cluster.base + "/readyz", timeout=10).json()["database"] == "ok"


def test_a_session_made_through_one_server_is_valid_on_the_other(cluster):
    answer = _register(cluster.servers[0], PEOPLE[0])
    assert answer.status_code == 201, answer.text
    token = answer.json()["session_token"]
    me = httpx.get(f"{cluster.servers[1]}/api/v1/me", timeout=30,
                   headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["id"] == answer.json()["account"]["id"]
    out = httpx.delete(f"{cluster.servers[1]}/api/v1/sessions/current", timeout=30,
                       headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204
    gone = httpx.get(f"{cluster.servers[0]}/api/v1/me", timeout=30,
                     headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401


def test_lockout_counts_are_shared_between_servers(cluster):
    person = PEOPLE[1]
    assert _register(cluster.servers[0], person).status_code == 201
    # Three wrong passwords on each server: neither alone reached the five free failures.
    for i in range(6):
        wrong = httpx.post(f"{cluster.servers[i % 2]}/api/v1/sessions", timeout=30,
                           json={"identifier": person.card, "password": "senha errada demais"})
        assert wrong.status_code in (401, 429), wrong.text
    right = httpx.post(f"{cluster.servers[0]}/api/v1/sessions", timeout=30,
                       json={"identifier": person.card, "password": STRONG})
    assert right.status_code == 429, right.text  # waiting: the six failures were counted together


def test_a_code_sent_by_one_server_is_redeemed_through_the_other(cluster):
    person = PEOPLE[2]
    answer = _register(cluster.servers[0], person)
    assert answer.status_code == 201
    auth = {"Authorization": f"Bearer {answer.json()['session_token']}"}
    email = "pessoa.cluster@example.org"
    started = httpx.post(f"{cluster.servers[0]}/api/v1/me/contacts", headers=auth, timeout=30,
                         json={"kind": "email", "value": email, "password": STRONG})
    assert started.status_code == 201, started.text
    # Read through the other server (the message was queued in the shared database).
    messages = httpx.get(f"{cluster.servers[1]}/dev/outbox.json", params={"to": email},
                         timeout=30).json()
    code = code_of(messages[0]["text"])
    confirmed = httpx.post(
        f"{cluster.servers[1]}/api/v1/me/contacts/{started.json()['id']}/verification",
        headers=auth, timeout=30, json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["verified"] is True


def test_the_outbox_is_delivered_exactly_once_with_two_workers(cluster):
    second = subprocess.Popen([str(GUARITA), "worker"], env=cluster.guarita_env(), cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)  # both workers polling
        recipients = [f"fila{i}@example.org" for i in range(40)]
        rows = ", ".join(
            f"('email', '{to}', 'Fila do cluster {i}', 'texto {i}', 'aviso', 'pending', 0, now(), now())"
            for i, to in enumerate(recipients))
        columns = 'channel, "to", subject, text, template, status, attempts, next_attempt_at, created_at'
        cluster.psql(f"INSERT INTO outbox_messages ({columns}) VALUES {rows}")  # noqa: S608
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left = cluster.psql("SELECT count(*) FROM outbox_messages WHERE subject LIKE 'Fila do cluster%' "
                                "AND status <> 'sent'").strip()
            if left == "0":
                break
            time.sleep(0.3)
        assert left == "0"
        time.sleep(1)
        delivered = [p.read_text(errors="replace") for p in (cluster.directory / "mail").glob("*.eml")]
        for to in recipients:
            count = sum(f"To: {to}" in text for text in delivered)
            assert count == 1, f"{to}: {count} entregas"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)


def test_killing_a_server_mid_load_loses_no_acknowledged_write(cluster):
    """Registrations through the balancer from four clients; server 1 dies by SIGKILL after a
    while. Every 201 must be in the database, and the balancer must carry on with server 2."""
    people = PEOPLE[10:]
    acknowledged: list[str] = []
    failed_after_kill: list[int] = []
    state = {"next": 0, "killed_at": None}
    enough = asyncio.Event()  # ten registrations in: time to kill

    async def client(http: httpx.AsyncClient) -> None:
        while state["next"] < len(people):
            person = people[state["next"]]
            state["next"] += 1
            try:
                answer = await http.post("/api/v1/registrations", json={
                    "card_number": person.card, "cpf": person.cpf,
                    "birth_date": person.birth.isoformat(), "password": STRONG,
                    "password_confirmation": STRONG})
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code == 201:
                acknowledged.append(person.card)
                if len(acknowledged) >= 10:
                    enough.set()
            elif answer is not None and answer.status_code not in (502, 503):
                raise AssertionError(f"{answer.status_code} {answer.text}")
            elif state["killed_at"] is not None:
                failed_after_kill.append(state["next"])
            if state["killed_at"] is not None and len(acknowledged) >= state["killed_at"] + 25:
                return

    async def run() -> None:
        async with httpx.AsyncClient(base_url=cluster.base, timeout=30) as http:
            clients = [asyncio.create_task(client(http)) for _ in range(4)]
            await enough.wait()
            os.kill(cluster.pid("server1"), signal.SIGKILL)
            state["killed_at"] = len(acknowledged)
            await asyncio.gather(*clients)

    asyncio.run(run())
    # The balancer routed around the dead server: 25 more registrations went through, and at
    # most the requests in flight at the kill (one per client) failed.
    assert len(acknowledged) >= state["killed_at"] + 25
    assert len(failed_after_kill) <= 4, failed_after_kill
    stored = set(cluster.psql(
        "SELECT b.card_number FROM beneficiaries b JOIN accounts a ON a.beneficiary_id = b.id"
    ).split())
    assert not set(acknowledged) - stored
