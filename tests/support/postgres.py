"""A throwaway PostgreSQL 15 cluster on loopback for the suite (RECIPES.md).

``initdb`` refuses root, so the cluster belongs to the ``postgres`` system user and lives in a
temporary directory removed at the end. Set ``GUARITA_TEST_POSTGRES_URL`` to use a server you
already run instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

BIN = Path(os.environ.get("GUARITA_PG_BIN", "/usr/lib/postgresql/15/bin"))



def _as_postgres(*args: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return list(args)


@dataclass
class Cluster:
    directory: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [str(BIN.parent / "bin" / "psql") if (BIN / "psql").exists() else "psql",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
            check=True, capture_output=True, text=True,
        )
        return out.stdout

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "stop"),
            check=False, capture_output=True,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


def available() -> bool:
    return (BIN / "initdb").exists()


def start(*, durable: bool = False) -> Cluster:
    """Starts a cluster; ``durable=False`` turns fsync off, fine for everything but crash tests."""
    directory = Path(tempfile.mkdtemp(prefix="guarita-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(str(BIN / "initdb"), "-D", str(directory / "data"), "-A", "trust", "-U",
                     "postgres", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"),
        check=True, capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(directory / "data"), "-l",
                     str(directory / "pg.log"), "-w", "-o", options, "start"),
        check=True, capture_output=True,
    )
    return Cluster(directory, port)
