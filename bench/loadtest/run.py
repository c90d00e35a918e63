"""``make loadtest``: the mixed load of bench/loadtest/locustfile.py, headless, at about 70 % of
the capacity measured first in the same run, against one server, the cluster of ``make cluster``,
or both one after the other (docs/scale.md › The mixed load).

1. A database with data written straight into it (bench/loadtest/seed.py): a throwaway durable
   PostgreSQL 15 and one ``guarita serve --workers 1`` for ``single``; the cluster's own
   PostgreSQL (directly, not through PgBouncer) for ``cluster``, restarted with the settings
   below on the ports scripts/cluster/start.sh chose (``var/cluster/port``) and left running.
2. Capacity: ``--probe-seconds`` of sign-ins only, from enough users to saturate the target:
   the sign-ins per second it reaches (argon2id bounds them).
3. The mixed load for ``--minutes`` at a task rate whose hashing (sign-ins, wrong passwords,
   registrations) is 70 % of that capacity, the rest costing about 1/25 of a sign-in each
   (locust's ``constant_throughput``; the code flow's task makes two requests). The users start
   over the first seconds, so a 1-minute run falls a little short of the 70 %.
4. A table: requests, share, p50 and p99 per kind, failures; the hashing rate reached against
   the capacity. Intended 401/429 (wrong passwords) are not failures; any other error is, and
   makes the exit status 1.

    .venv/bin/python bench/loadtest/run.py [--target single|cluster|both] [--minutes 1]
        [--accounts 20000] [--probe-seconds 30] [--users N]   (N fixes the user count, no probe)

Wall time per target: about 1 minute of setup (PostgreSQL or the cluster, the seed), the probe,
then ``--minutes``.

The server settings for the load: no captcha (a load generator cannot solve ALTCHA at this
rate; the captcha is tested elsewhere) and ``GUARITA_TRUSTED_PROXIES=["127.0.0.1"]`` so the
generator's ``X-Forwarded-For`` addresses spread the per-IP limits as a real crowd does.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import postgres  # noqa: E402
from tests.support.server import free_port, running_server, server_env  # noqa: E402

HERE = Path(__file__).parent
PY = ROOT / ".venv" / "bin" / "python"
LOCUST = ROOT / ".venv" / "bin" / "locust"
LOAD_ENV = {"GUARITA_CAPTCHA": "off", "GUARITA_TRUSTED_PROXIES": '["127.0.0.1"]',
            "GUARITA_LOG_LEVEL": "WARNING"}
# Task weights of locustfile.py: the share of requests that hash a password.
WEIGHTS = {"userinfo": 30, "refresh": 10, "code": 8, "card": 18, "cpf": 14, "email": 6,
           "wrong": 5, "recovery": 3, "registration": 2}
HASHING_SHARE = sum(WEIGHTS[k] for k in ("card", "cpf", "email", "wrong", "registration")) / sum(
    WEIGHTS.values())
# The request names (locustfile.py) that verify or hash a password.
HASHING_NAMES = ("sign-in: card", "sign-in: cpf", "sign-in: email", "wrong password", "registration",
                 "sign-in (form, for the code flow)")


def seed(database_url: str, accounts: int, out: Path, sizes: bool = False) -> None:
    command = [str(PY), str(HERE / "seed.py"), "--database-url", database_url,
               "--accounts", str(accounts), "--free", "5000", "--out", str(out)]
    subprocess.run([*command, *(["--sizes"] if sizes else [])], check=True, cwd=ROOT)  # noqa: S603


def locust(host: str, seed_file: Path, users: int, seconds: int, prefix: Path, *,
           probe: bool = False, rate: float = 1.0) -> list[dict]:
    env = {**os.environ, "LOADTEST_SEED": str(seed_file), "LOADTEST_PROBE": "1" if probe else "0",
           "LOADTEST_RATE": str(rate)}
    subprocess.run([str(LOCUST), "-f", str(HERE / "locustfile.py"), "--headless", "--only-summary",  # noqa: S603
                    "-u", str(users), "-r", str(max(1, users // 5)), "--run-time", f"{seconds}s",
                    "--host", host, "--csv", str(prefix), "--loglevel", "WARNING"],
                   env=env, cwd=ROOT, check=False, stdout=subprocess.DEVNULL,
                   stderr=open(f"{prefix}.log", "w"))  # noqa: PTH123, SIM115 - locust's own report
    with open(f"{prefix}_stats.csv", newline="") as handle:  # noqa: PTH123
        return list(csv.DictReader(handle))


COUNTERS = (
    "SELECT (SELECT wal_sync FROM pg_stat_wal), (SELECT wal_write FROM pg_stat_wal), "
    "(SELECT wal_bytes FROM pg_stat_wal), "
    "(SELECT sum(xact_commit) FROM pg_stat_database), "
    "(SELECT buffers_checkpoint + buffers_clean + buffers_backend FROM pg_stat_bgwriter)"
)


def pg_counters(url: str) -> list[float]:
    """WAL syncs, WAL writes, WAL bytes, commits and data pages written so far (server-wide)."""
    code = ("import asyncio, sys; sys.path.insert(0, '.'); from sqlalchemy import text; "
            "from guarita.storage.database import Database\n"
            "async def main():\n db = Database(sys.argv[1])\n"
            " async with db.engine.connect() as c:\n"
            f"  print(*(await c.execute(text({COUNTERS!r}))).one())\n"
            " await db.dispose()\n"
            "asyncio.run(main())")
    out = subprocess.run([str(PY), "-c", code, url], cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                         check=True).stdout
    return [float(x) for x in out.split()]


def table(rows: list[dict], seconds: int) -> str:
    total = max(1, int(next(r for r in rows if r["Name"] == "Aggregated")["Request Count"]))
    lines = ["| request | count | share % | per s | p50 ms | p99 ms | failures |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in sorted(rows, key=lambda r: (r["Name"] == "Aggregated", r["Name"])):
        name = "**all**" if row["Name"] == "Aggregated" else row["Name"]
        count = int(row["Request Count"])
        lines.append(f"| {name} | {count} | {100 * count / total:.1f} | {count / seconds:.1f} "
                     f"| {row['50%']} | {row['99%']} | {row['Failure Count']} |")
    return "\n".join(lines)


def cluster_port() -> int:
    """The balancer's port: CLUSTER_PORT, else the block scripts/cluster/start.sh chose."""
    if os.environ.get("CLUSTER_PORT"):
        return int(os.environ["CLUSTER_PORT"])
    chosen = Path(os.environ.get("CLUSTER_DIR", ROOT / "var" / "cluster")) / "port"
    return int(chosen.read_text()) if chosen.exists() else 8300


def run(target: str, args: argparse.Namespace) -> int:  # noqa: PLR0915 - one run, in order
    work = Path(tempfile.mkdtemp(prefix="guarita-loadtest-"))
    seed_file = ROOT / "var" / "loadtest" / f"seed-{target}.json"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, work, True)  # locust's CSVs; the table printed is the result
        if target == "single":
            cluster = postgres.start(durable=True)
            stack.callback(cluster.stop)
            url = cluster.url()
            subprocess.run([str(ROOT / ".venv/bin/guarita"), "migrate"], check=True, cwd=ROOT,  # noqa: S603
                           env=server_env(url), stdout=subprocess.DEVNULL)
            seed(url, args.accounts, seed_file)
            direct = url
            env = server_env(url, GUARITA_ENV="development", **LOAD_ENV,
                             GUARITA_RUN_WORKER_IN_SERVER="true")
            host, _ = stack.enter_context(running_server(env, port=free_port(), workers=1,
                                                         timeout=600))
        else:
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("GUARITA_")}, **LOAD_ENV}
            # Restarted with the load's settings; the data in var/cluster stays.
            subprocess.run(["/bin/bash", str(ROOT / "scripts/cluster/stop.sh")], env=env, check=True)  # noqa: S603
            subprocess.run(["/bin/bash", str(ROOT / "scripts/cluster/start.sh")], env=env, check=True)  # noqa: S603
            port = cluster_port()
            direct = f"postgresql+asyncpg://guarita@127.0.0.1:{port + 4}/guarita"
            seed(direct, args.accounts, seed_file)
            host = f"http://127.0.0.1:{port}"
        found = json.loads(seed_file.read_text())
        if args.users:
            users, rate_total = args.users, float(args.users)
            print(f"usuários fixos: {users} (1 requisição/s cada)")
        else:
            before = pg_counters(direct)
            probe = locust(host, seed_file, 32, args.probe_seconds, work / "probe", probe=True)
            after = pg_counters(direct)
            total = next(r for r in probe if r["Name"] == "Aggregated")
            per100 = [100 * (b - a) / max(1, int(total["Request Count"])) for a, b in zip(before, after, strict=True)]
            print(f"por 100 entradas: {per100[0]:.0f} fsyncs do WAL, {per100[1]:.0f} escritas do WAL, "
                  f"{per100[2] / 1024:.0f} KiB de WAL, {per100[3]:.0f} commits, "
                  f"{per100[4]:.0f} páginas de dados gravadas (até o próximo checkpoint, mais)")
            capacity = int(total["Request Count"]) / args.probe_seconds
            # requests/s whose hashing is 70 % of the capacity; the rest ~1/25 of a sign-in each
            rate_total = 0.7 * capacity / (HASHING_SHARE + (1 - HASHING_SHARE) / 25)
            users = max(1, round(rate_total))
            print(f"capacidade ({target}): {capacity:.1f} entradas/s em {args.probe_seconds} s "
                  f"(p50 {total['50%']} ms, falhas {total['Failure Count']}); carga: {users} "
                  f"usuários × {rate_total / users:.2f} tarefas/s = {rate_total:.1f} tarefas/s, "
                  f"{0.7 * capacity:.1f} hashes/s (alvo: 70 % da capacidade)")
        seconds = int(args.minutes * 60)
        rows = locust(host, seed_file, users, seconds, work / "mixed", rate=rate_total / users)
        hashing = sum(int(r["Request Count"]) for r in rows if r["Name"] in HASHING_NAMES) / seconds
        print(f"\nCarga mista, alvo {target}, {seconds} s, {users} usuários, "
              f"{found['accounts']} contas, carga da máquina {load()} (1 / 5 / 15 min):\n")
        print(table(rows, seconds))
        if not args.users:
            print(f"\nsenhas verificadas: {hashing:.1f}/s = {hashing / capacity:.0%} da capacidade "
                  f"medida nesta execução (alvo 70 %)")
        failures = int(next(r for r in rows if r["Name"] == "Aggregated")["Failure Count"])
        print(f"erros além dos 401/429 previstos: {failures} (alvo 0)")
        print("\nTabelas depois da carga (pg_total_relation_size, índices incluídos):")
        subprocess.run([str(PY), "-c", "import sys; sys.path.insert(0, 'bench/loadtest'); "  # noqa: S603
                        f"import seed; seed.print_sizes({direct!r})"], cwd=ROOT, check=False)
        failures_file = Path(f"{work / 'mixed'}_failures.csv")
        if failures and failures_file.exists():
            print("\nFalhas:\n" + failures_file.read_text()[:3000])
        return 1 if failures else 0


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=["single", "cluster", "both"], default="single")
    parser.add_argument("--minutes", type=float, default=1)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--probe-seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=0)
    args = parser.parse_args()
    targets = ["single", "cluster"] if args.target == "both" else [args.target]
    return max(run(target, args) for target in targets)


if __name__ == "__main__":
    sys.exit(main())
