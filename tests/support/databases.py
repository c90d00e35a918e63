"""Fresh, migrated databases for each test, on SQLite and on PostgreSQL.

Migrating costs a few hundred milliseconds, so each backend is migrated once per run with
Alembic (which also proves the migrations) and then reset cheaply per test: SQLite by copying
the migrated file, PostgreSQL by truncating every table.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from guarita.storage.all_tables import metadata
from guarita.storage.migrate import upgrade_async


class SqliteFactory:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="guarita-sqlite-"))
        self.template = self.directory / "template.db"

    async def prepare(self) -> None:
        await upgrade_async(f"sqlite+aiosqlite:///{self.template}")
        # Fold the WAL into the main file so a plain copy carries everything.
        engine = create_async_engine(f"sqlite+aiosqlite:///{self.template}")
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await engine.dispose()

    async def fresh(self) -> str:
        target = self.directory / f"{uuid.uuid4().hex}.db"
        await asyncio.to_thread(shutil.copyfile, self.template, target)
        return f"sqlite+aiosqlite:///{target}"

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresFactory:
    """Migrates and resets ``database`` on the server directly; tests get ``serve_url`` (the
    same database, or the same through PgBouncer for the ``pgbouncer`` backend)."""

    def __init__(self, server_url: str, database: str = "guarita_test") -> None:
        self.database = database
        self.url = server_url.rsplit("/", 1)[0] + "/" + database
        self.serve_url = self.url
        self.server_url = server_url

    async def prepare(self) -> None:
        admin = create_async_engine(self.server_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            # WITH (FORCE) (PostgreSQL 13+): PgBouncer may still hold server connections to the
            # database when a worker sets the backend up again (pytest-xdist runs the modules of
            # one backend apart, so the session fixture is torn down and made again).
            await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            await conn.exec_driver_sql(f"CREATE DATABASE {self.database}")
        await admin.dispose()
        await upgrade_async(self.url)

    async def fresh(self) -> str:
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        engine = create_async_engine(self.url)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await engine.dispose()
        return self.serve_url

    def cleanup(self) -> None:
        pass
