"""The ``throttles`` statements of the hot paths, one atomic statement each (plain SQL, so the
same text runs in an ORM unit of work through ``plain_sql.in_session`` and in a sign-in body on
a lane or an asyncpg connection).

``INSERT … ON CONFLICT … DO UPDATE … RETURNING`` (SQLite ≥ 3.35, PostgreSQL ≥ 9.5) counts in
one statement, whatever else runs at the same time, in this process or another.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from guarita.storage.plain_sql import Sql, Tx, when

# An attempt is counted unless a wait is running (then nothing changes and no row comes back).
_COUNT_ATTEMPT = Sql("""
    INSERT INTO throttles (key, count, window_started_at, updated_at, locked_until)
    VALUES (:key, 1, :now, :now, NULL)
    ON CONFLICT (key) DO UPDATE SET count = throttles.count + 1, updated_at = :now
    WHERE throttles.locked_until IS NULL OR throttles.locked_until <= :now
    RETURNING count
""")
_STATE = Sql("SELECT count, locked_until FROM throttles WHERE key = :key")
_LOCK = Sql("UPDATE throttles SET locked_until = :until WHERE key = :key")
IN_WINDOW = Sql("""
    INSERT INTO throttles (key, count, window_started_at, updated_at, locked_until)
    VALUES (:key, 1, :now, :now, NULL)
    ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN throttles.window_started_at <= :restart THEN 1
                     ELSE throttles.count + 1 END,
        window_started_at = CASE WHEN throttles.window_started_at <= :restart THEN :now
                                 ELSE throttles.window_started_at END,
        updated_at = :now
    RETURNING count, window_started_at
""")
_RESET = Sql("DELETE FROM throttles WHERE key = :key")
_REFUND = Sql("UPDATE throttles SET count = count - 1 WHERE key = :key AND count > 0")


async def count_attempt(tx: Tx, key: str, now: datetime) -> tuple[int, datetime | None]:
    """``(count, None)`` once counted; ``(count, locked_until)`` when a wait was running and
    nothing was counted. The row stays locked until the transaction ends (PostgreSQL's row
    lock, SQLite's write lock), so setting the wait it earned next is part of the same step."""
    row = await tx.one(_COUNT_ATTEMPT, key=key, now=now)
    if row is not None:
        return row[0], None
    count, locked_until = await tx.one(_STATE, key=key)
    return count, when(locked_until)


async def state(tx: Tx, key: str) -> tuple[int, datetime | None]:
    """``(count, locked_until)`` of a row; ``(0, None)`` when there is none."""
    row = await tx.one(_STATE, key=key)
    return (row[0], when(row[1])) if row is not None else (0, None)


async def lock_until(tx: Tx, key: str, until: datetime) -> None:
    await tx.run(_LOCK, key=key, until=until)


async def count_in_window(tx: Tx, key: str, window: int, now: datetime) -> tuple[int, datetime]:
    """Counts one event under ``key`` in a fixed window of ``window`` seconds."""
    count, started = await tx.one(IN_WINDOW, key=key, now=now,
                                  restart=now - timedelta(seconds=window))
    return count, when(started)


async def reset(tx: Tx, key: str) -> None:
    await tx.run(_RESET, key=key)


async def refund(tx: Tx, key: str) -> None:
    await tx.run(_REFUND, key=key)
