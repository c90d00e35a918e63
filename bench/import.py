"""Benchmark of the beneficiary import (docs/registry-import.md): rows per second and peak memory.

    .venv/bin/python bench/import.py [--rows 1000000] [--postgres postgresql+asyncpg://…/postgres]

Generates a synthetic registry CSV (valid, unique CPFs; both date and CPF spellings; e-mails,
phones, a share of legacy password hashes and of broken rows), streamed to a temporary file, then
imports it into a fresh SQLite database, and into a throwaway PostgreSQL database created on the
given server when ``--postgres`` is set. Each backend runs in a child process so that its peak
RSS (``ru_maxrss``) is its own; each imports the file twice, the second run finding every row
unchanged. Prints one table; ``docs/registry-import.md`` keeps the figures of a reference run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FIRST = ["Maria", "José", "Ana", "João", "Antônio", "Francisca", "Luzia", "Sebastião", "Raimunda",
         "Benedito", "Conceição", "Luís", "Fátima", "Inês", "Cícero", "Expedito", "Valdirene"]
LAST = ["Silva", "Santos", "Oliveira", "Souza", "Conceição", "Gonçalves", "Araújo", "Magalhães",
        "Brandão", "Ribeiro", "Lima", "Pereira", "Assunção", "Simões", "Guimarães", "Nóbrega"]
DDD = [11, 21, 31, 41, 48, 51, 61, 62, 71, 81, 85, 91]
# A multiplier coprime with 10⁹ turns the row number into a unique 9-digit CPF base.
_SPREAD = 7919 * 1_000_003


def generate(path: Path, rows: int, *, legacy_share: float, bad_share: float, seed: int) -> None:
    from guarita.services.demo import DEMO_BCRYPT_HASH, DEMO_PBKDF2_HASH, cpf_from_number

    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["card_number", "cpf", "birth_date", "name", "email", "phone", "legacy_password_hash"]
        )
        for i in range(rows):
            card = str(7_000_000_000 + i)
            cpf = cpf_from_number((i * _SPREAD + 12_345) % 10**9)
            if len(set(cpf)) == 1 or rng.random() < 0.10:
                cpf = ""
            elif rng.random() < 0.5:
                cpf = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
            year, month, day = rng.randint(1930, 2005), rng.randint(1, 12), rng.randint(1, 28)
            birth = f"{year}-{month:02d}-{day:02d}"
            if rng.random() < 0.3:
                birth = f"{day:02d}/{month:02d}/{year}"
            first, last1, last2 = rng.choice(FIRST), rng.choice(LAST), rng.choice(LAST)
            name = f"{first} {last1} {last2}"
            email = f"{first}.{last2}.{i}@example.com".lower() if rng.random() < 0.6 else ""
            phone = ""
            if rng.random() < 0.7:
                phone = f"({DDD[i % len(DDD)]}) 99{(i // len(DDD)) % 10**7:07d}"
            legacy = ""
            if rng.random() < legacy_share:
                legacy = DEMO_BCRYPT_HASH if rng.random() < 0.8 else DEMO_PBKDF2_HASH
            if rng.random() < bad_share:
                cpf = "123.456.789-00"  # fails the check digits: a rejected row
            writer.writerow([card, cpf, birth, name, email, phone, legacy])


# -- child: one backend -------------------------------------------------------------------


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ChildPeak(threading.Thread):
    """Peak RSS of this process's children (the reader of a large file), from /proc.

    Not ``RUSAGE_CHILDREN``: a child started with vfork is charged the parent's memory until it
    execs. ``VmHWM`` is the child's own high-water mark; it only grows, so the last sample
    before the child exits is (within half a second) its peak.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for children in Path("/proc/self/task").glob("*/children"):
                for pid in children.read_text().split():
                    with contextlib.suppress(OSError):
                        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                            if line.startswith("VmHWM:"):
                                self.peak_kib = max(self.peak_kib, int(line.split()[1]))


async def _import_twice(database_url: str, csv_path: Path, batch_size: int) -> dict:
    from guarita.config import Environment, Settings
    from guarita.runtime import Runtime
    from guarita.services.registry_import import import_beneficiaries
    from guarita.storage.migrate import upgrade_async

    await upgrade_async(database_url)
    settings = Settings(env=Environment.TEST, database_url=database_url,
                        secret_key=secrets.token_urlsafe(40))
    runtime = Runtime.build(settings)
    result: dict = {"rss_before_mb": _rss_mb(), "runs": []}
    try:
        for _ in range(2):
            reader = ChildPeak()
            reader.start()
            cpu_self, cpu_children = (_cpu_seconds(resource.RUSAGE_SELF),
                                      _cpu_seconds(resource.RUSAGE_CHILDREN))
            started = time.perf_counter()
            report = await import_beneficiaries(runtime, csv_path, batch_size=batch_size)
            seconds = time.perf_counter() - started
            reader.stop.set()
            reader.join()
            result["runs"].append({
                **report.counts(), "seconds": seconds,
                # CPU time does not depend on what else the machine is doing; wall time does.
                "cpu_import": _cpu_seconds(resource.RUSAGE_SELF) - cpu_self,
                "cpu_reader": _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_children,
                "peak_rss_mb": _rss_mb(), "reader_rss_mb": reader.peak_kib / 1024,
            })
    finally:
        await runtime.close()
    return result


async def _postgres_database(server_url: str, name: str, *, create: bool) -> str:
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        if create:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        else:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def child(backend: str, csv_path: Path, postgres: str | None, batch_size: int) -> None:
    async def main() -> dict:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="guarita-bench-") as directory:
                return await _import_twice(
                    f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}", csv_path, batch_size
                )
        name = f"guarita_bench_{secrets.token_hex(4)}"
        url = await _postgres_database(postgres, name, create=True)
        try:
            return await _import_twice(url, csv_path, batch_size)
        finally:
            await _postgres_database(postgres, name, create=False)

    sys.stdout.write(json.dumps(asyncio.run(main())) + "\n")


# -- parent ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="URL of a PostgreSQL server (any database on it); a "
                        "throwaway database is created there and dropped afterwards")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--legacy-share", type=float, default=0.10)
    parser.add_argument("--bad-share", type=float, default=0.002)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--csv", type=Path, help="import this file instead of generating one")
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    from guarita.services.registry_import import BATCH_SIZE

    batch_size = args.batch_size or BATCH_SIZE
    if args.child:
        child(args.child, args.csv, args.postgres, batch_size)
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped to a file: room for every column
        console = Console(width=200)
    with tempfile.TemporaryDirectory(prefix="guarita-bench-csv-") as tmp:
        csv_path = args.csv
        generated = None
        if csv_path is None:
            csv_path = Path(tmp) / "beneficiarios.csv"
            started = time.perf_counter()
            generate(csv_path, args.rows, legacy_share=args.legacy_share,
                     bad_share=args.bad_share, seed=args.seed)
            generated = time.perf_counter() - started
        size_mb = csv_path.stat().st_size / 1e6
        console.print(
            f"CSV: {csv_path.name}, {size_mb:.0f} MB"
            + (f", gerado em {generated:.1f} s" if generated is not None else "")
            + f"; lotes de {batch_size}; {os.cpu_count()} núcleos"
        )
        backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
        table = Table(title=f"Importação de beneficiários ({args.rows:,} linhas)")
        for header in ("banco", "execução", "linhas", "segundos", "linhas/s", "CPU import s",
                       "CPU leitor s", "criados", "atualizados", "sem mudança", "recusados",
                       "contas antigas", "pico RSS MB", "RSS leitor MB"):
            table.add_column(header, justify="right")
        for backend in backends:
            command = [sys.executable, __file__, "--child", backend, "--csv", str(csv_path),
                       "--batch-size", str(batch_size)]
            if args.postgres:
                command += ["--postgres", args.postgres]
            out = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
            result = json.loads(out.stdout.strip().splitlines()[-1])
            for index, run in enumerate(result["runs"]):
                table.add_row(
                    backend,
                    "1ª (novo)" if index == 0 else "2ª (igual)",
                    f"{run['rows']:,}",
                    f"{run['seconds']:.1f}",
                    f"{run['rows'] / run['seconds']:,.0f}",
                    f"{run['cpu_import']:.0f}",
                    f"{run['cpu_reader']:.0f}",
                    f"{run['created']:,}",
                    f"{run['updated']:,}",
                    f"{run['unchanged']:,}",
                    f"{run['rejected']:,}",
                    f"{run['legacy_accounts_created']:,}",
                    f"{run['peak_rss_mb']:.0f}",
                    f"{run['reader_rss_mb']:.0f}" if run["reader_rss_mb"] else "—",
                )
            console.print(f"{backend}: RSS antes da importação {result['rss_before_mb']:.0f} MB")
        console.print(table)
        console.print(f"carga do sistema (1, 5, 15 min): {os.getloadavg()}")


if __name__ == "__main__":
    main()
