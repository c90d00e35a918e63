"""The machine's whole capacity for sign-ins, and sign-in latency as the accounts grow (PostgreSQL).

Each measurement is printed next to its target and its reference from the same run:

* **capacity** — sign-ins per wall-second of the whole machine through ``POST /api/v1/sessions``
  (``wrk``, closed loop, ``--connections``) with ``guarita serve --workers 1``, ``--workers 2``
  (not pinned: every core) and ``cluster`` — two ``guarita serve --workers 1`` behind HAProxy,
  through PgBouncer, as ``make cluster`` starts them (tests/support/cluster.py) — against
  0.8 × cores × argon2id verifications per CPU-second (one thread, Guarita's parameters);
* **flatness** (``--accounts 10000,1000000``) — sign-in p50 and p99 of ``--workers 1`` at a
  fixed open-loop rate well below capacity (``--flat-rate``; by default a quarter of the
  ``--workers 1`` capacity of the same run, so queueing does not decide the figures) with
  10,000 accounts, then again after the tables grew to 1,000,000; the target: within 10 %.

Accounts are written straight into a throwaway PostgreSQL 15 (fsync on) with ``COPY``, not
through the HTTP API: a beneficiary, an account, its card and CPF identifiers and an argon2id
password each — the rows the registry import and a registration make. One argon2id hash,
computed once, is reused for every account (each sign-in still verifies it in full); then
``VACUUM ANALYZE``, so the planner and the visibility map see the grown tables. Each sign-in
of a row uses a different account, so no attempt counter interferes.

    .venv/bin/python bench/scale.py [--seconds 20] [--connections 16] [--workers 1,2,cluster]
        [--accounts 10000,1000000] [--flat-seconds 60] [--flat-rate 0] [--skip-capacity]

Wall time: about 3 minutes of setup, then ``--seconds`` per capacity row (each with a server
start), the accounts' load (1,000,000: see bench/README.md › How to run) and ``--flat-seconds``
per size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.login import argon2_per_cpu_second  # noqa: E402
from bench.oidc import LUA, ensure_tools  # noqa: E402
from tests.support.cluster import running_cluster  # noqa: E402
from tests.support.factories import with_check_digits  # noqa: E402
from tests.support.server import migrate, running_server, server_env  # noqa: E402

from guarita.domain.hashing import Hasher  # noqa: E402

PASSWORD = "uma frase bem comprida para lembrar"  # noqa: S105 - benchmark accounts
FIRST_CARD = 700_000_000
CHUNK = 100_000
# A server may take minutes to import and start on a busy machine.
START_TIMEOUT = 600.0


def cpf_of(n: int) -> str:
    """A valid CPF made from ``n`` (check digits of the Receita Federal), unique per ``n``."""
    return with_check_digits([int(d) for d in f"{100_000_000 + n:09d}"[-9:]])


def account_id(n: int) -> str:
    return f"{n:032x}"


async def add_accounts(dsn: str, start: int, stop: int, hashed: str) -> float:
    """Accounts ``start … stop-1`` with ``COPY``, then ``VACUUM ANALYZE``; returns the seconds."""
    import asyncpg

    began = time.perf_counter()
    now = datetime.now(UTC)
    connection = await asyncpg.connect(dsn)
    try:
        first_id = await connection.fetchval("SELECT COALESCE(MAX(id), 0) FROM beneficiaries")
        for low in range(start, stop, CHUNK):
            numbers = range(low, min(low + CHUNK, stop))
            cpfs = {n: cpf_of(n) for n in numbers}
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "beneficiaries",
                    columns=["id", "card_number", "cpf", "birth_date", "name", "name_search",
                             "created_at", "updated_at"],
                    records=[(first_id + n - start + 1, str(FIRST_CARD + n), cpfs[n],
                              date(1950, 1, 1), f"Pessoa {n}", f"pessoa {n}", now, now)
                             for n in numbers])
                await connection.copy_records_to_table(
                    "accounts",
                    columns=["id", "beneficiary_id", "status", "legacy", "trust_level",
                             "created_at", "updated_at"],
                    records=[(account_id(n), first_id + n - start + 1, "active", False, "bronze",
                              now, now) for n in numbers])
                await connection.copy_records_to_table(
                    "account_identifiers",
                    columns=["account_id", "kind", "value", "source", "verified_at",
                             "login_enabled", "created_at"],
                    records=[row for n in numbers for row in (
                        (account_id(n), "card", str(FIRST_CARD + n), "registry", now, True, now),
                        (account_id(n), "cpf", cpfs[n], "registry", now, True, now))])
                await connection.copy_records_to_table(
                    "credentials",
                    columns=["principal_kind", "account_id", "kind", "algorithm", "hash", "data",
                             "created_at", "changed_at"],
                    records=[("account", account_id(n), "password", "argon2id", hashed, "{}", now,
                              now) for n in numbers])
        await connection.execute("SELECT setval(pg_get_serial_sequence('beneficiaries', 'id'),"
                                 " (SELECT MAX(id) FROM beneficiaries))")
        # Planner statistics and the visibility map for the grown tables: without them the
        # first sign-ins after a bulk load pay for hint bits and a stale plan.
        await connection.execute("VACUUM ANALYZE beneficiaries, accounts, account_identifiers,"
                                 " credentials")
        # The load's dirty pages written now, not by a checkpoint during the next latency row
        # (a million accounts are ~2 GB of WAL and pages; fsync is on). Superusers only: the
        # cluster's database owner skips it (its rows measure capacity, not latency).
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    return time.perf_counter() - began


def identifiers(accounts: int, count: int) -> list[str]:
    """``count`` identifiers of different accounts (card or CPF, alternately)."""
    chosen = random.sample(range(accounts), min(count, accounts))
    return [str(FIRST_CARD + n) if i % 2 == 0 else cpf_of(n) for i, n in enumerate(chosen)]


def bodies_file(directory: Path, name: str, accounts: int, count: int) -> Path:
    """``count`` sign-in bodies for ``wrk``, one line each, each a different account."""
    path = directory / f"{name}.txt"
    path.write_text("".join(json.dumps({"identifier": i, "password": PASSWORD}) + "\n"
                            for i in identifiers(accounts, count)))
    return path


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, bodies: Path, seconds: int, connections: int) -> dict:
    """Closed loop: ``connections`` sign-ins in flight for ``seconds``."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
               "-s", str(LUA), "-H", "Content-Type: application/json", url]
    env = {**os.environ, "WRK_METHOD": "POST", "WRK_BODIES": str(bodies)}
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603
    failures = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "failures": failures,
    }


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def open_loop(url: str, bodies: list[str], rate: float, seconds: float) -> dict:
    """Open loop: sign-in ``i`` is sent at ``i / rate`` seconds whatever the earlier ones are
    doing, and its latency counts from that moment (a slow answer cannot delay the next
    request and hide itself, as a closed loop would)."""
    import httpx

    count = max(1, int(rate * seconds))
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so a request never
    # goes out on a connection the server is closing at that moment.
    limits = httpx.Limits(max_connections=500, keepalive_expiry=2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        loop = asyncio.get_running_loop()
        began = loop.time() + 0.2

        async def one(i: int) -> None:
            due = began + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                answer = await client.post(url, content=bodies[i % len(bodies)],
                                           headers={"Content-Type": "application/json"})
                if answer.status_code != 201:  # noqa: PLR2004 - a session made
                    failures[f"{answer.status_code} {answer.text[:80]}"] += 1
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
            latencies.append((loop.time() - due) * 1000)

        await asyncio.gather(*(one(i) for i in range(count)))
    return {"requests": count, "rate": count / seconds, "p50": percentile(latencies, 0.50),
            "p99": percentile(latencies, 0.99), "failures": sum(failures.values()),
            "why": failures}


def flat_row(base: str, accounts: int, rate: float, seconds: float) -> dict:
    body = [json.dumps({"identifier": i, "password": PASSWORD})
            for i in identifiers(accounts, int(rate * (seconds + 5)) + 1)]
    asyncio.run(open_loop(base + "/api/v1/sessions", body[-int(rate * 5) - 1:], rate, 5))  # warm
    return asyncio.run(open_loop(base + "/api/v1/sessions", body, rate, seconds))


def capacity_row(base: str, directory: Path, name: str, accounts: int, seconds: int,
                 connections: int) -> dict:
    wrk(base + "/api/v1/sessions", bodies_file(directory, f"warm-{name}", accounts, 50), 3, 4)
    return wrk(base + "/api/v1/sessions", bodies_file(directory, name, accounts, accounts),
               seconds, connections)


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:  # noqa: C901, PLR0912, PLR0915 - one run, top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of each capacity row")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", default="1,2,cluster",
                        help="capacity rows: worker counts of one server, and 'cluster'")
    parser.add_argument("--accounts", default="10000,1000000",
                        help="sizes for the flatness rows, smallest first ('' to skip)")
    parser.add_argument("--flat-seconds", type=int, default=60, help="length of each flatness row")
    parser.add_argument("--flat-rate", type=float, default=0.0,
                        help="sign-ins per second of the flatness rows (0: a quarter of the "
                             "--workers 1 capacity of this run, 5 without it)")
    parser.add_argument("--skip-capacity", action="store_true")
    args = parser.parse_args()
    ensure_tools()
    from tests.support import postgres

    sizes = [int(s) for s in args.accounts.split(",") if s]
    base_accounts = sizes[0] if sizes else 10_000
    cores = os.cpu_count() or 1
    load_before = load()
    hasher = Hasher(max_workers=1)
    hashed = hasher.hash_sync(PASSWORD)
    hasher.close()
    capacity: list[tuple[str, dict]] = []
    flat: list[tuple[int, float, dict]] = []
    directory = Path(tempfile.mkdtemp(prefix="guarita-scale-"))
    configurations = [] if args.skip_capacity else [w for w in args.workers.split(",") if w]
    settings = {"GUARITA_RATE_LIMITS__LOGIN": "100000000/60", "GUARITA_CAPTCHA": "off"}
    cluster = postgres.start(durable=True)
    try:
        cluster.psql("CREATE DATABASE guarita_scale")
        url = cluster.url("guarita_scale")
        dsn = url.replace("postgresql+asyncpg", "postgresql")
        migrate(url)
        made = asyncio.run(add_accounts(dsn, 0, base_accounts, hashed))
        have = base_accounts
        env = server_env(url, **settings)
        for configuration in configurations:
            if configuration == "cluster":
                continue  # its own PostgreSQL; after the single servers, whose database is this
            with running_server(env, workers=int(configuration), timeout=START_TIMEOUT) as (base, _):
                capacity.append((f"--workers {configuration}", capacity_row(
                    base, directory, f"cap{configuration}", have, args.seconds, args.connections)))
        if "cluster" in configurations:
            # The cluster's Guarita processes take every GUARITA_ setting of this environment
            # but its own database, secret key and addresses (scripts/cluster/common.sh).
            with running_cluster(server_env("", **settings)) as servers:
                asyncio.run(add_accounts(servers.direct_url.replace("postgresql+asyncpg",
                                                                    "postgresql"),
                                         0, base_accounts, hashed))
                capacity.append(("cluster: HAProxy → 2 × --workers 1 → PgBouncer", capacity_row(
                    servers.base, directory, "cap-cluster", base_accounts, args.seconds,
                    args.connections)))
        single = next((found for name, found in capacity if name == "--workers 1"), None)
        rate = args.flat_rate or (round(single["rate"] / 4, 1) if single else 5.0)
        for size in sizes:
            if size > have:
                made = asyncio.run(add_accounts(dsn, have, size, hashed))
                have = size
            with running_server(env, workers=1, timeout=START_TIMEOUT) as (base, _):
                flat.append((size, made, flat_row(base, have, rate, args.flat_seconds)))
    finally:
        cluster.stop()
    bound = argon2_per_cpu_second()
    target = 0.8 * cores * bound
    table = Table(title=f"Sign-in at scale — PostgreSQL 15 (fsync on), {cores} cores, load "
                        f"{load_before} before, {load()} after (1 / 5 / 15 min)")
    for column in ("measure", "figure", "target and reference (same run)", "verdict"):
        table.add_column(column)
    table.add_row("argon2id verifications per CPU-second (one thread)", f"{bound:.1f}", "", "")
    for name, found in capacity:
        ratio = found["rate"] / target
        table.add_row(
            f"capacity, {name}: sign-ins per wall-second ({args.connections} connections, "
            f"{args.seconds} s)",
            f"{found['rate']:.1f} (p50 {found['p50']:.0f} ms, p99 {found['p99']:.0f} ms, "
            f"errors {found['failures']})",
            f"≥ 0.8 × {cores} cores × {bound:.1f} = {target:.1f}",
            f"{ratio:.2f} of the target — " + ("met" if ratio >= 1 else "missed"))
    for i, (size, made, found) in enumerate(flat):
        table.add_row(
            f"{size:,} accounts: sign-in latency, --workers 1, open loop {rate:g}/s, "
            f"{args.flat_seconds} s",
            f"p50 {found['p50']:.1f} ms, p99 {found['p99']:.1f} ms ({found['requests']} "
            f"sign-ins, errors {found['failures']})",
            f"accounts written with COPY + VACUUM ANALYZE in {made:.0f} s "
            f"(+{size - (flat[i - 1][0] if i else 0):,} accounts)",
            "")
    if len(flat) >= 2:  # noqa: PLR2004 - the smallest and the largest
        (small, _, first), (large, _, last) = flat[0], flat[-1]
        p50, p99 = last["p50"] / first["p50"], last["p99"] / first["p99"]
        ok = abs(p50 - 1) <= 0.10 and abs(p99 - 1) <= 0.10  # noqa: PLR2004 - the target
        table.add_row(f"flatness: {large:,} ÷ {small:,} accounts", f"p50 ×{p50:.2f}, p99 ×{p99:.2f}",
                      "both within ×0.90 … ×1.10", "met" if ok else "missed")
    Console(width=200).print(table)
    for size, _, found in flat:
        for why, count in found["why"].most_common(5):
            print(f"{size:,} accounts: {count} × {why}")
    met = [name for name, found in capacity if found["rate"] >= target]
    if capacity:
        print("Capacity target met by: " + (", ".join(met) if met else "none of "
                                            + ", ".join(name for name, _ in capacity)))


if __name__ == "__main__":
    main()
