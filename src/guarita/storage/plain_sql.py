"""Plain SQL on the driver connection, for the provider's hot paths (token, userinfo,
introspection).

Why not the ORM here: through SQLAlchemy's session and the aiosqlite adapter, one refresh cost
about thirty hand-offs between the event loop and aiosqlite's thread and ~5 ms of CPU (measured:
~190 refreshes per CPU-second), far from the 1,000 the benchmark asks. Here a transaction is a
*body* — ``async def body(tx)`` awaiting ``tx.one / tx.all / tx.run`` — written once and run on
both databases:

* SQLite: the whole body runs in one hand-off, inside a *lane* — a daemon thread with its own
  sqlite3 connection to the database file — where ``tx``'s methods are coroutines that never
  suspend, so the body is driven without an event loop. One lane writes (``BEGIN IMMEDIATE``, as
  ``Database.transaction`` does; the lane itself queues this process's writers, so they wait in
  memory rather than in SQLite's busy handler) and one reads (a deferred ``BEGIN``: one
  snapshot; in WAL mode readers never wait for the writer). Going through SQLAlchemy's pool
  cost more than the queries: checking a connection out and back in, with its reset, was about
  half of a refresh's CPU.
* PostgreSQL: the body awaits asyncpg directly, in a read-committed transaction for writes (its
  ``UPDATE … WHERE used_at IS NULL`` lets exactly one of two racing requests through); reads
  run in autocommit, each statement seeing committed data.

Statements use ``:name`` parameters: sqlite3 takes them natively, and for asyncpg they are
rewritten to ``$n`` once per statement. PostgreSQL connections come from the one SQLAlchemy
pool. Values come back as the drivers give them; ``when``, ``day`` and ``data`` turn them into
what the ORM would have given (aware UTC datetimes, dates, JSON values).
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import sqlite3
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import greenlet_spawn

from guarita.storage.database import Database, connect_sqlite

T = TypeVar("T")
_NAME = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Sql:
    """One statement with ``:name`` parameters, and its asyncpg form made on first use."""

    def __init__(self, text: str):
        self.text = " ".join(text.split())

    @cached_property
    def numbered(self) -> tuple[str, tuple[str, ...]]:
        names: list[str] = []

        def number(match: re.Match) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        # Only outside quoted literals: every other piece of a split on ' is SQL.
        pieces = self.text.split("'")
        pieces[::2] = [_NAME.sub(number, piece) for piece in pieces[::2]]
        return "'".join(pieces), tuple(names)


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite DATETIME storage format, UTC without offset (storage/types.py).
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):  # SQLAlchemy's Date on SQLite (sqlite3's adapter is deprecated)
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


class SqliteTx:
    def __init__(self, connection: Any):  # aiosqlite.Connection
        self.connection = connection

    def _params(self, params: dict) -> dict:
        return {k: _sqlite_value(v) for k, v in params.items()}

    async def one(self, sql: Sql, **params: Any) -> tuple | None:
        rows = await self.connection.execute_fetchall(sql.text, self._params(params))
        return tuple(rows[0]) if rows else None

    async def all(self, sql: Sql, **params: Any) -> list[tuple]:
        return [
            tuple(r) for r in await self.connection.execute_fetchall(sql.text, self._params(params))
        ]

    async def run(self, sql: Sql, **params: Any) -> int:
        cursor = await self.connection.execute(sql.text, self._params(params))
        return cursor.rowcount


class AsyncpgTx:
    def __init__(self, connection: Any):  # asyncpg.Connection
        self.connection = connection

    @staticmethod
    def _args(sql: Sql, params: dict) -> tuple[str, list]:
        text, names = sql.numbered
        return text, [params[name] for name in names]

    async def one(self, sql: Sql, **params: Any) -> tuple | None:
        text, args = self._args(sql, params)
        row = await self.connection.fetchrow(text, *args)
        return tuple(row) if row is not None else None

    async def all(self, sql: Sql, **params: Any) -> list[tuple]:
        text, args = self._args(sql, params)
        return [tuple(r) for r in await self.connection.fetch(text, *args)]

    async def run(self, sql: Sql, **params: Any) -> int:
        text, args = self._args(sql, params)
        status = await self.connection.execute(text, *args)  # "UPDATE 1", "INSERT 0 1"
        return int(status.rsplit(" ", 1)[-1]) if status and status[-1].isdigit() else 0


class SqliteThreadTx:
    """The statements of one transaction, run on the sqlite3 connection inside aiosqlite's own
    thread. Its methods are coroutines that never suspend, so a transaction body written for
    asyncpg runs here unchanged, driven without an event loop (``_drive``)."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    async def one(self, sql: Sql, **params: Any) -> tuple | None:
        row = self.connection.execute(
            sql.text, {k: _sqlite_value(v) for k, v in params.items()}
        ).fetchone()
        return tuple(row) if row is not None else None

    async def all(self, sql: Sql, **params: Any) -> list[tuple]:
        cursor = self.connection.execute(sql.text, {k: _sqlite_value(v) for k, v in params.items()})
        return [tuple(r) for r in cursor.fetchall()]

    async def run(self, sql: Sql, **params: Any) -> int:
        return self.connection.execute(
            sql.text, {k: _sqlite_value(v) for k, v in params.items()}
        ).rowcount


class SessionTx:
    """The same statements inside an ORM unit of work, for a change that must commit or roll
    back together with rows written through the ORM (a new grant and its audit event; the
    session a logout ends and the grants it revokes). They go through the session's own
    connection and transaction; values are converted as for the lanes."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self.sqlite = session.bind.dialect.name == "sqlite"

    def _params(self, params: dict) -> dict:
        return {k: _sqlite_value(v) for k, v in params.items()} if self.sqlite else params

    async def one(self, sql: Sql, **params: Any) -> tuple | None:
        row = (await self.session.execute(text(sql.text), self._params(params))).first()
        return tuple(row) if row is not None else None

    async def all(self, sql: Sql, **params: Any) -> list[tuple]:
        result = await self.session.execute(text(sql.text), self._params(params))
        return [tuple(r) for r in result.all()]

    async def run(self, sql: Sql, **params: Any) -> int:
        result = await self.session.execute(text(sql.text), self._params(params))
        return result.rowcount or 0


def in_session(session: AsyncSession) -> SessionTx:
    """A ``tx`` for this module's statements inside an open ``Database.transaction()``."""
    return SessionTx(session)


Tx = SqliteTx | SqliteThreadTx | AsyncpgTx | SessionTx
Body = Callable[[Tx], Awaitable[T]]


def _drive(awaitable: Awaitable[T]) -> T:
    """Runs a coroutine that awaits nothing but ``SqliteThreadTx`` methods to completion."""
    coroutine = awaitable.__await__()
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("um corpo de transação SQLite só pode esperar pelo próprio tx")


def _in_sqlite_thread(connection: sqlite3.Connection, body: Body, begin: str) -> Any:
    """One transaction, run in a lane's thread."""
    connection.execute(begin)
    try:
        result = _drive(body(SqliteThreadTx(connection)))
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


class SqliteLane:
    """One daemon thread with its own sqlite3 connection to the database file; jobs run in
    order, each in one hand-off from the event loop. The connection is configured by the same
    function as the pool's (``storage.database.connect_sqlite``: WAL, ``synchronous=FULL``,
    foreign keys, 30 s busy timeout). Daemon, so it can never hold the process open; stopped
    when its database is disposed of (or garbage-collected)."""

    def __init__(self, path: str, name: str):
        self.path = path
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._work, name=name, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        connection = connect_sqlite(self.path)
        while True:
            job = self.jobs.get()
            if job is None:
                connection.close()
                return
            fn, args, future, loop = job
            try:
                result, error = fn(connection, *args), None
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                result, error = None, exc
            try:
                loop.call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:
                pass  # the loop is gone (shutdown); nobody is waiting

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.jobs.put((fn, args, future, loop))
        return await future

    def stop(self) -> None:
        self.jobs.put(None)


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _lane(db: Database, kind: str) -> SqliteLane | None:
    """The database's write or read lane; None for an in-memory database (a second connection
    would see another database), which then goes through the pool one statement at a time."""
    lane = db.lanes.get(kind)
    if lane is None:
        path = db.url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        lane = db.lanes[kind] = SqliteLane(path, f"guarita-sql-{kind}")
        weakref.finalize(db, lane.stop)
    return lane


@asynccontextmanager
async def _driver(db: Database) -> AsyncIterator[Any]:
    """The driver connection of one pool checkout, without SQLAlchemy's ``AsyncConnection``
    around it (nothing here goes through SQLAlchemy's execution). Returned to the pool, with
    its reset, when the block ends."""
    pooled = await greenlet_spawn(db.engine.sync_engine.raw_connection)
    try:
        yield pooled.driver_connection
    finally:
        await greenlet_spawn(pooled.close)


async def _through_pool(db: Database, body: Body, begin: str) -> Any:
    async with _driver(db) as connection:
        await connection.execute(begin)
        try:
            result = await body(SqliteTx(connection))
        except BaseException:
            await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")
        return result


async def write(db: Database, body: Body) -> T:
    """Runs ``body(tx)`` in one write transaction: committed when it returns, rolled back when
    it raises. The body may only await its ``tx``."""
    if db.is_sqlite:
        lane = _lane(db, "write")
        if lane is None:
            return await _through_pool(db, body, "BEGIN IMMEDIATE")
        return await lane.run(_in_sqlite_thread, body, "BEGIN IMMEDIATE")
    async with _driver(db) as connection, connection.transaction():
        return await body(AsyncpgTx(connection))


async def read(db: Database, body: Body) -> T:
    """Runs ``body(tx)`` for reading: on SQLite in one deferred read transaction (which never
    waits for the writer in WAL mode), on PostgreSQL statement by statement."""
    if db.is_sqlite:
        lane = _lane(db, "read")
        if lane is None:
            return await _through_pool(db, body, "BEGIN")
        return await lane.run(_in_sqlite_thread, body, "BEGIN")
    async with _driver(db) as connection:
        # Autocommit: each statement sees committed data; the BEGIN and COMMIT round trips of
        # a read-only transaction would buy a snapshot no reader here needs.
        return await body(AsyncpgTx(connection))


async def alone(db: Database, body: Body) -> T:
    """Runs a body of ONE statement: on PostgreSQL in autocommit — the statement is its own
    transaction, atomic, without the ``BEGIN`` and ``COMMIT`` round trips; on SQLite as
    :func:`write` does (one statement there is no cheaper alone)."""
    if db.is_sqlite:
        return await write(db, body)
    async with _driver(db) as connection:
        return await body(AsyncpgTx(connection))


def when(value: Any) -> datetime | None:
    """A stored moment as an aware UTC datetime (SQLite gives text, PostgreSQL datetimes)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def data(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value
