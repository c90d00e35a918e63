"""Engine and transactions for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with ``synchronous=FULL`` so an acknowledged write survives ``kill -9``
(SECURITY.md › Reliability), with foreign keys on, and every transaction opened with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail at once with
"database is locked" when another writer got there first, while an immediate one simply waits
``busy_timeout``. PostgreSQL keeps its defaults (``synchronous_commit=on``).

Behind PgBouncer in transaction mode (docs/scale.md › PgBouncer) consecutive transactions of one
client connection may run on different server connections, so a statement prepared in one
transaction is gone (or belongs to someone else) in the next. With ``pgbouncer=True`` — or
``?pgbouncer=true`` in the URL, which the CLI and migrations then inherit — asyncpg keeps no
statement cache (its statements are unnamed and parsed again in the same round trip) and
SQLAlchemy's own prepared statements get a fresh random name each and are never cached.
Nothing here holds state across transactions: the advisory locks are ``pg_advisory_xact_lock``
(released at commit), and there is no ``LISTEN``, session ``SET`` or temporary table outside a
transaction (the registry import's temporary table lives inside its one transaction).

A pooled PostgreSQL connection is checked before use only when it sat idle for
``PING_AFTER_IDLE_SECONDS`` or its socket is already known to be closed (``_ping_if_idle``):
SQLAlchemy's ``pool_pre_ping`` pinged on every checkout — on asyncpg a ``BEGIN``, ``;`` and
``ROLLBACK``, three round trips and three statements of the server's CPU, twice per sign-in
(docs/architecture.md › Decisions: Sign-in cost). A connection that answered within the last
second is taken as alive, as HikariCP's ``aliveBypassWindowMs`` does; a database restarted in
that second costs the request on it one error, and the pool then replaces the connection.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# How every SQLite connection of the process is set up, the pool's and the plain-SQL lanes'
# (storage/plain_sql.py) alike: WAL so readers never wait for the writer, FULL so an
# acknowledged commit survives kill -9 (SECURITY.md › Reliability), foreign keys enforced, and
# 30 s of waiting for the write lock before "database is locked".
SQLITE_TIMEOUT_SECONDS = 30
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=FULL",
    "foreign_keys=ON",
    f"busy_timeout={SQLITE_TIMEOUT_SECONDS * 1000}",
)


def configure_sqlite_connection(connection: Any) -> None:
    """Applies ``SQLITE_PRAGMAS`` to a DB-API connection (sqlite3's or aiosqlite's adapter) and
    takes transaction control away from the driver, so that our own ``BEGIN`` decides."""
    connection.isolation_level = None
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def connect_sqlite(path: str) -> sqlite3.Connection:
    """A plain sqlite3 connection configured as the pool's are (for the plain-SQL lanes)."""
    connection = sqlite3.connect(path, timeout=SQLITE_TIMEOUT_SECONDS)
    configure_sqlite_connection(connection)
    return connection


class Database:
    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 10,
        audit_key: bytes | None = None, audit_anchor_every: int = 0, pgbouncer: bool = False,
    ):
        self.url = make_url(url)
        flag = self.url.query.get("pgbouncer")
        if flag is not None:
            self.url = self.url.difference_update_query(["pgbouncer"])
            pgbouncer = pgbouncer or str(flag).lower() in ("1", "true", "yes", "on")
        self.pgbouncer = pgbouncer
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(
                self.url, echo=echo, connect_args={"timeout": SQLITE_TIMEOUT_SECONDS}
            )
            _configure_sqlite(self.engine, immediate=True)
            # Readers need no write lock: WAL lets them run beside the one writer.
            self.read_engine: AsyncEngine = create_async_engine(
                self.url, echo=echo, connect_args={"timeout": SQLITE_TIMEOUT_SECONDS}
            )
            _configure_sqlite(self.read_engine, immediate=False)
        else:
            self.engine = create_async_engine(
                self.url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                connect_args=_pgbouncer_connect_args() if pgbouncer else {},
            )
            _ping_if_idle(self.engine)
            self.read_engine = self.engine
        # The plain-SQL fast path's SQLite threads (storage/plain_sql.py), by kind: one writer,
        # one reader; stopped by ``dispose``.
        self.lanes: dict[str, Any] = {}
        # The audit chain's key rides on every session (storage/audit.py); it is never stored.
        info = {"audit_key": audit_key, "audit_anchor_every": audit_anchor_every}
        self.info = info
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, info=info)
        self.read_sessionmaker = async_sessionmaker(
            self.read_engine, expire_on_commit=False, info=info
        )

    def session_on(self, connection: AsyncConnection) -> AsyncSession:
        """A session on a connection the caller manages (bulk work), with the audit key."""
        return AsyncSession(bind=connection, info=self.info)

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
        for lane in self.lanes.values():
            lane.stop()
        self.lanes.clear()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "guarita_returned_at"  # the pool record's info entry: when it was checked in


def _ping_if_idle(engine: AsyncEngine) -> None:
    """A pooled connection is pinged at checkout only after ``PING_AFTER_IDLE_SECONDS`` idle;
    one whose socket asyncpg already saw closed is replaced without a round trip (module
    docstring). ``DisconnectionError`` makes the pool discard it and check out another."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_connection, record):  # noqa: ANN001, ANN202
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):  # noqa: ANN001, ANN202
        if record.driver_connection.is_closed():
            raise DisconnectionError("a conexão com o PostgreSQL foi fechada")
        returned = record.info.get(_RETURNED_AT)
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("a conexão com o PostgreSQL não respondeu") from error


def _pgbouncer_connect_args() -> dict[str, Any]:
    """asyncpg and SQLAlchemy settings for PgBouncer's transaction pooling (module docstring)."""
    return {
        "statement_cache_size": 0,  # asyncpg: unnamed statements, parsed in the same round trip
        "prepared_statement_cache_size": 0,  # SQLAlchemy: no statement kept between uses
        # A name no other client of the same server connection can have chosen.
        "prepared_statement_name_func": lambda: f"__guarita_{uuid.uuid4().hex}__",
    }


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        configure_sqlite_connection(dbapi_connection)

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
