"""The machine's whole capacity for sign-ins, and sign-in latency as the accounts grow (PostgreSQL).

Two measurements, each next to its reference from the same run:

* **capacity** — sign-ins per wall-second of the whole machine through ``POST /api/v1/sessions``
  with ``guarita serve --workers 1`` and ``--workers 2`` (not pinned: every core), against
  0.8 × cores × argon2id verifications per CPU-second (one thread, Guarita's parameters);
* **flatness** (``--accounts 10000,1000000``) — sign-in p50 and p99 at a light, fixed
  concurrency with 10,000 accounts, then again after the table grew to 1,000,000 (the target:
  within 10 % of each other).

Accounts are written straight into a throwaway PostgreSQL 15 (fsync on) with ``COPY`` — a
beneficiary, an account, its card and CPF identifiers and one argon2id password each, the rows
the registry import and a registration make — not through the HTTP API. ``wrk`` drives the
load (one body per sign-in, each account used once per row so no lockout counter interferes).

    .venv/bin/python bench/scale.py [--seconds 20] [--connections 16] [--workers 1,2]
                                    [--accounts 10000,1000000] [--skip-capacity]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.login import argon2_per_cpu_second  # noqa: E402
from bench.oidc import LUA, ensure_tools  # noqa: E402
from tests.support.server import migrate, running_server, server_env  # noqa: E402

from guarita.domain.hashing import Hasher  # noqa: E402

PASSWORD = "uma frase bem comprida para lembrar"  # noqa: S105 - benchmark accounts
FIRST_CARD = 700_000_000


def cpf_of(n: int) -> str:
    """A valid CPF made from ``n`` (check digits of the Receita Federal), unique per ``n``."""
    base = [int(d) for d in f"{100_000_000 + n:09d}"[-9:]]
    for length in (9, 10):
        total = sum(d * w for d, w in zip(base, range(length + 1, 1, -1), strict=True))
        digit = (total * 10) % 11
        base.append(0 if digit == 10 else digit)
    return "".join(map(str, base))


async def add_accounts(dsn: str, start: int, stop: int, hashed: str) -> float:
    """Accounts ``start … stop-1`` with ``COPY``; returns the seconds it took."""
    import asyncpg

    began = time.perf_counter()
    now = datetime.now(UTC)
    connection = await asyncpg.connect(dsn)
    try:
        first_id = await connection.fetchval("SELECT COALESCE(MAX(id), 0) FROM beneficiaries")
        chunk = 100_000
        for low in range(start, stop, chunk):
            numbers = range(low, min(low + chunk, stop))
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "beneficiaries",
                    columns=["id", "card_number", "cpf", "birth_date", "name", "name_search",
                             "created_at", "updated_at"],
                    records=[(first_id + n - start + 1, str(FIRST_CARD + n), cpf_of(n),
                              date(1950, 1, 1), f"Pessoa {n}", f"pessoa {n}", now, now)
                             for n in numbers])
                await connection.copy_records_to_table(
                    "accounts",
                    columns=["id", "beneficiary_id", "status", "legacy", "trust_level",
                             "created_at", "updated_at"],
                    records=[(f"{n:032x}", first_id + n - start + 1, "active", False, "bronze",
                              now, now) for n in numbers])
                await connection.copy_records_to_table(
                    "account_identifiers",
                    columns=["account_id", "kind", "value", "source", "verified_at",
                             "login_enabled", "created_at"],
                    records=[row for n in numbers for row in (
                        (f"{n:032x}", "card", str(FIRST_CARD + n), "registry", now, True, now),
                        (f"{n:032x}", "cpf", cpf_of(n), "registry", now, True, now))])
                await connection.copy_records_to_table(
                    "credentials",
                    columns=["principal_kind", "account_id", "kind", "algorithm", "hash", "data",
                             "created_at", "changed_at"],
                    records=[("account", f"{n:032x}", "password", "argon2id", hashed, "{}", now,
                              now) for n in numbers])
        await connection.execute("SELECT setval(pg_get_serial_sequence('beneficiaries', 'id'),"
                                 " (SELECT MAX(id) FROM beneficiaries))")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return time.perf_counter() - began


def bodies_file(directory: Path, name: str, accounts: int, count: int) -> Path:
    """``count`` sign-in bodies, each a different account (card or CPF, alternately)."""
    chosen = random.sample(range(accounts), min(count, accounts))
    path = directory / f"{name}.txt"
    lines = []
    for i, n in enumerate(chosen):
        identifier = str(FIRST_CARD + n) if i % 2 == 0 else cpf_of(n)
        lines.append(json.dumps({"identifier": identifier, "password": PASSWORD}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, bodies: Path, seconds: int, connections: int) -> dict:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--accounts", default="10000,1000000",
                        help="sizes for the flatness rows, smallest first ('' to skip)")
    parser.add_argument("--flat-connections", type=int, default=2,
                        help="concurrency of the flatness rows (light: latency, not queueing)")
    parser.add_argument("--skip-capacity", action="store_true")
    args = parser.parse_args()
    ensure_tools()
    from tests.support import postgres

    sizes = [int(s) for s in args.accounts.split(",") if s]
    base_accounts = sizes[0] if sizes else 10_000
    cores = os.cpu_count() or 1
    hasher = Hasher(max_workers=1)
    hashed = hasher.hash_sync(PASSWORD)
    hasher.close()
    cluster = postgres.start(durable=True)
    rows: list[tuple[str, ...]] = []
    capacity: list[tuple[int, dict]] = []
    flat: list[tuple[int, float, dict]] = []
    try:
        cluster.psql("CREATE DATABASE guarita_scale")
        url = cluster.url("guarita_scale")
        dsn = url.replace("postgresql+asyncpg", "postgresql")
        migrate(url)
        made = asyncio.run(add_accounts(dsn, 0, base_accounts, hashed))
        have = base_accounts
        directory = Path(tempfile.mkdtemp(prefix="guarita-scale-"))
        env = server_env(url, GUARITA_RATE_LIMITS__LOGIN="100000000/60", GUARITA_CAPTCHA="off")
        if not args.skip_capacity:
            for workers in [int(w) for w in args.workers.split(",")]:
                with running_server(env, workers=workers) as (base, _process):
                    warm = bodies_file(directory, "warm", have, 50)
                    wrk(base + "/api/v1/sessions", warm, 3, 4)
                    bodies = bodies_file(directory, f"cap{workers}", have, have)
                    capacity.append((workers, wrk(base + "/api/v1/sessions", bodies,
                                                  args.seconds, args.connections)))
        for size in sizes:
            if size > have:
                made = asyncio.run(add_accounts(dsn, have, size, hashed))
                have = size
            with running_server(env, workers=1) as (base, _process):
                warm = bodies_file(directory, f"warm{size}", have, 50)
                wrk(base + "/api/v1/sessions", warm, 3, 2)
                bodies = bodies_file(directory, f"flat{size}", have, 20_000)
                flat.append((size, made, wrk(base + "/api/v1/sessions", bodies, args.seconds,
                                             args.flat_connections)))
    finally:
        cluster.stop()
    bound = argon2_per_cpu_second()
    target = 0.8 * cores * bound
    table = Table(title=f"Sign-in at scale — PostgreSQL 15 (fsync on), {cores} cores, "
                        f"{args.seconds} s per row")
    for column in ("measure", "value", "reference (same run)", "verdict"):
        table.add_column(column)
    rows.append(("argon2id verifications per CPU-second (one thread)", f"{bound:.1f}", "", ""))
    for workers, found in capacity:
        rate = found["rate"]
        rows.append((f"capacity: sign-ins per wall-second, --workers {workers} "
                     f"({args.connections} connections)",
                     f"{rate:.1f} (p50 {found['p50']:.0f} ms, p99 {found['p99']:.0f} ms, "
                     f"errors {found['failures']})",
                     f"0.8 × {cores} × {bound:.1f} = {target:.1f}",
                     f"{rate / target:.2f} of the target" + (" — met" if rate >= target else "")))
    first = flat[0][2] if flat else None
    for size, made, found in flat:
        verdict = ""
        if first is not None and found is not first:
            p50 = found["p50"] / first["p50"] - 1
            p99 = found["p99"] / first["p99"] - 1
            ok = abs(p50) <= 0.10 and abs(p99) <= 0.10
            verdict = f"p50 {p50:+.0%}, p99 {p99:+.0%}" + (" — within 10 %" if ok else "")
        rows.append((f"{size:,} accounts: sign-in latency ({args.flat_connections} connections)",
                     f"p50 {found['p50']:.1f} ms, p99 {found['p99']:.1f} ms "
                     f"({found['rate']:.1f}/s, errors {found['failures']})",
                     f"accounts written with COPY in {made:.0f} s", verdict))
    for row in rows:
        table.add_row(*row)
    Console(width=170).print(table)


if __name__ == "__main__":
    main()
