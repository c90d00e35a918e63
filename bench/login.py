"""Sign-ins per CPU-second of the server, next to argon2id verifications per CPU-second.

Starts ``guarita serve`` (uvicorn, one worker) on 127.0.0.1 with a fresh SQLite database (or a
throwaway PostgreSQL 15 with ``--postgres``, whose CPU is counted with the server's), registers N
demo users through the API, then signs them in concurrently through ``POST /api/v1/sessions``
and reads the server's own CPU time from /proc. In the same run it measures how many argon2id
verifications one CPU-second buys with Guarita's parameters, and (unless ``--skip-allauth``)
django-allauth 65 signing in the same way (``bench/allauth_peer.py``: headless JSON login,
gunicorn with one sync worker, the same argon2id parameters, SQLite). A ratio near 1 means a
sign-in costs little more than its one unavoidable hash.

The closed loop (``--concurrency`` clients, each sending its next sign-in when the last one
answered) measures cost and capacity, but its latencies are mostly queueing: eight requests
always wait on one core. Latency is then measured open-loop (``--load 0.8``): sign-ins sent on a
Poisson schedule at 0.8 × the capacity the closed loop just measured (sign-ins per wall-second),
for ``--open-seconds``, whatever the server's answers do, each latency counted from the moment
the schedule meant to send it — so a stalled server's backlog shows in the percentiles instead
of slowing the sender down (coordinated omission). ``--load 0`` leaves it out.

    .venv/bin/python bench/login.py [--users 200] [--requests 1000] [--concurrency 8]
                                    [--load 0.8] [--open-seconds 20]
                                    [--postgres] [--skip-allauth]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import allauth_peer  # noqa: E402
from bench.cpu import tree_cpu  # noqa: E402
from tests.support.factories import make_cpf  # noqa: E402
from tests.support.server import migrate, running_server, server_env  # noqa: E402

from guarita.domain.hashing import Hasher, usable_cores  # noqa: E402

PASSWORD = "uma frase bem comprida para lembrar"


def argon2_per_cpu_second(seconds: float = 3.0) -> float:
    hasher = Hasher(max_workers=1)
    stored = hasher.hash_sync("referência")
    count, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        hasher.verify_sync(stored, "referência")
        count += 1
    rate = count / (time.process_time() - started)
    hasher.close()
    return rate


async def seed(base: str, users: int, database_url: str) -> list[str]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        for i in range(users):
            await conn.execute(text(
                "INSERT INTO beneficiaries (card_number, cpf, birth_date, name, name_search, created_at, updated_at) "
                "VALUES (:card, :cpf, '1950-01-01', :name, :name, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"card": f"{900000000 + i}", "cpf": make_cpf(10_000 + i), "name": f"Pessoa {i}"})
    await engine.dispose()
    cards = [f"{900000000 + i}" for i in range(users)]
    async with httpx.AsyncClient(timeout=60) as http:
        semaphore = asyncio.Semaphore(4)

        async def one(i: int) -> None:
            async with semaphore:
                response = await http.post(f"{base}/api/v1/registrations", json={
                    "card_number": cards[i], "cpf": make_cpf(10_000 + i), "birth_date": "1950-01-01",
                    "password": PASSWORD, "password_confirmation": PASSWORD})
                assert response.status_code == 201, response.text

        await asyncio.gather(*(one(i) for i in range(users)))
    return cards


async def hammer(base: str, cards: list[str], requests: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue = list(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        async def worker() -> None:
            while queue:
                i = queue.pop()
                started = time.perf_counter()
                response = await http.post(f"{base}/api/v1/sessions",
                                           json={"identifier": cards[i % len(cards)], "password": PASSWORD})
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def open_loop(base: str, cards: list[str], rate: float, seconds: float,
                    seed: int = 1) -> tuple[list[float], int, float]:
    """Sign-ins sent at Poisson arrivals of ``rate`` per second for ``seconds``; returns each
    one's latency from its *intended* send time, the number of failed answers, and the worst
    lateness of the sender itself (how far behind its schedule it ever started a request)."""
    schedule = random.Random(seed)
    offsets, at = [], schedule.expovariate(rate)
    while at < seconds:
        offsets.append(at)
        at += schedule.expovariate(rate)
    latencies: list[float] = []
    failed, late = 0, 0.0
    # As many connections as requests in flight: the client never queues behind itself.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        async def one(i: int, intended: float) -> None:
            nonlocal failed
            response = await http.post(f"{base}/api/v1/sessions",
                                       json={"identifier": cards[i % len(cards)],
                                             "password": PASSWORD})
            latencies.append(time.perf_counter() - intended)
            failed += response.status_code != 201

        start = time.perf_counter() + 0.1
        tasks = []
        for i, offset in enumerate(offsets):
            intended = start + offset
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            late = max(late, time.perf_counter() - intended)
            tasks.append(asyncio.create_task(one(i, intended)))
        await asyncio.gather(*tasks)
    return latencies, failed, late


def percentile(latencies: list[float], share: float) -> float:
    ordered = sorted(latencies)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000


def usable_cores_of_server(server_cpu: int | None) -> int:
    """The server's hashing pool size: ``Hasher`` makes one thread per core the process may
    run on (``usable_cores``); pinned to one core here, one."""
    return 1 if server_cpu is not None else usable_cores()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--load", type=float, default=0.8,
                        help="open-loop arrival rate as a share of the closed loop's capacity "
                             "(0: no open-loop run)")
    parser.add_argument("--open-seconds", type=float, default=20.0)
    parser.add_argument("--database-url")
    parser.add_argument("--postgres", action="store_true",
                        help="a throwaway PostgreSQL 15 (fsync on) on the server's core, CPU counted")
    parser.add_argument("--skip-allauth", action="store_true")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="guarita-bench-")
    cpus = os.cpu_count() or 1
    server_cpu = 0 if cpus > 1 else None
    cluster, database_pid = None, None
    if args.postgres:
        from tests.support import postgres

        cluster = postgres.start(durable=True)
        cluster.psql("CREATE DATABASE guarita_bench")
        args.database_url = cluster.url("guarita_bench")
        database_pid = int((cluster.directory / "data" / "postmaster.pid").read_text().split()[0])
        if server_cpu is not None:  # the database shares the server's core
            subprocess.run(["taskset", "-a", "-cp", str(server_cpu), str(database_pid)],  # noqa: S603, S607
                           check=False, capture_output=True)
    url = args.database_url or f"sqlite+aiosqlite:///{directory}/bench.db"
    try:
        migrate(url)
        env = server_env(url, GUARITA_RATE_LIMITS__LOGIN="100000000/60",
                         GUARITA_RATE_LIMITS__REGISTRATION="100000000/60",
                         GUARITA_CAPTCHA="off")  # sign-in is measured; seeding skips the captcha

        def used_cpu(pid: int) -> float:
            return tree_cpu(pid) + (tree_cpu(database_pid) if database_pid else 0.0)

        with running_server(env, cpu=server_cpu) as (base, process):
            cards = asyncio.run(seed(base, args.users, url))
            before = used_cpu(process.pid)
            wall = time.perf_counter()
            latencies = asyncio.run(hammer(base, cards, args.requests, args.concurrency))
            wall = time.perf_counter() - wall
            used = used_cpu(process.pid) - before
            capacity = args.requests / wall
            opened = None
            if args.load > 0:
                opened = asyncio.run(open_loop(base, cards, args.load * capacity,
                                               args.open_seconds))
    finally:
        if cluster is not None:
            cluster.stop()
    peer = None
    if not args.skip_allauth:
        peer = allauth_peer.measure(Path(directory), args.users, args.requests, args.concurrency,
                                    server_cpu)
    reference = argon2_per_cpu_second()
    per_cpu = args.requests / used
    where = "PostgreSQL 15 (fsync on), its CPU counted" if args.postgres else "SQLite (WAL, FULL)"
    table = Table(title=f"Entrar: POST /api/v1/sessions (uvicorn, 1 worker, loopback; {where})")
    for column in ("measure", "value"):
        table.add_column(column)
    rows = [
        ("sign-ins", f"{args.requests} ({args.users} users, concurrency {args.concurrency})"),
        ("server CPU seconds", f"{used:.2f}"),
        ("wall seconds", f"{wall:.2f}"),
        ("sign-ins per CPU-second", f"{per_cpu:.1f}"),
        ("argon2id verifications per CPU-second (same run)", f"{reference:.1f}"),
        ("ratio (target ≥ 0.85)", f"{per_cpu / reference:.2f}"),
        ("server's hashing threads", f"{usable_cores_of_server(server_cpu)} (one per core "
                                     "it may run on)"),
        ("closed loop: capacity (sign-ins per wall-second)", f"{capacity:.1f}"),
        ("closed loop: latency p50 / p99 (queueing included)",
         f"{statistics.median(latencies) * 1000:.1f} / {percentile(latencies, 0.99):.1f} ms"),
    ]
    if opened is not None:
        open_latencies, failed, late = opened
        rows += [
            (f"open loop: {args.load:.0%} load, Poisson",
             f"{args.load * capacity:.1f}/s for {args.open_seconds:.0f} s: "
             f"{len(open_latencies)} sign-ins, {failed} failed, sender ≤ {late * 1000:.0f} ms late"),
            ("open loop: latency p50 from intended send",
             f"{statistics.median(open_latencies) * 1000:.1f} ms"),
            (f"open loop: latency p99 at {args.load:.0%} load (target ≤ 200 ms)",
             f"{percentile(open_latencies, 0.99):.1f} ms"),
        ]
    if peer is not None:
        rows += [
            ("django-allauth: sign-ins per CPU-second (same run)", f"{peer.per_cpu:.1f}"),
            ("django-allauth: ratio to argon2id", f"{peer.per_cpu / reference:.2f}"),
            ("Guarita ÷ django-allauth (target ≥ 1.2)", f"{per_cpu / peer.per_cpu:.2f}"),
        ]
    elif not args.skip_allauth:
        rows.append(("django-allauth", "not measured (see bench/README.md)"))
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
