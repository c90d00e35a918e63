"""Engine and transactions for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with ``synchronous=FULL`` so an acknowledged write survives ``kill -9``
(SECURITY.md › Reliability), with foreign keys on, and every transaction opened with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail at once with
"database is locked" when another writer got there first, while an immediate one simply waits
``busy_timeout``. PostgreSQL keeps its defaults (``synchronous_commit=on``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10):
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(
                self.url, echo=echo, connect_args={"timeout": 30}
            )
            _configure_sqlite(self.engine, immediate=True)
            # Readers need no write lock: WAL lets them run beside the one writer.
            self.read_engine: AsyncEngine = create_async_engine(
                self.url, echo=echo, connect_args={"timeout": 30}
            )
            _configure_sqlite(self.read_engine, immediate=False)
        else:
            self.engine = create_async_engine(
                self.url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.read_engine = self.engine
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back on any exception."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work: on SQLite it takes no write lock (deferred BEGIN)."""
        async with self.read_sessionmaker() as session:
            yield session  # closing the session rolls the read transaction back

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Take transaction control away from the driver so that "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
