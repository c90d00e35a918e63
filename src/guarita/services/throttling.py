"""Failure counters and per-IP rate limits kept in the database (SECURITY.md › Throttling).

Every increment is one atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` so that parallel
requests, in one process or many, are all counted: 50 wrong passwords at once count 50.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import LockoutPolicy, Settings
from guarita.domain.client_address import rate_limit_key
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.storage import plain_sql
from guarita.storage import throttles as throttle_rows
from guarita.storage.tables import Throttle
from guarita.storage.types import utcnow


def _insert(session: AsyncSession):  # noqa: ANN202
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


class Scope(StrEnum):
    """What a failure counter guards; its value prefixes the key stored in ``throttles``."""

    SIGN_IN = "login"        # a beneficiary's password: sign-in and re-authentication share it
    STAFF_SIGN_IN = "staff"  # a desk member's password and second factor
    SECOND_FACTOR = "2fa"    # a beneficiary's second step: a right password does not reset it


def throttle_key(scope: str, principal_id: str | None = None, typed: str = "", *,
                 ip: str | None = None) -> str:
    """The one place throttle keys are made (SECURITY.md › Throttling and lockout).

    ``scope`` is a :class:`Scope` for failure counters, or a rate-limited action's name
    (``RateLimits``) for per-IP windows:

    - with ``ip``: the per-IP window of an action (``ip:<action>:<address>``);
    - known principals are counted per principal, whichever identifier was typed;
    - unknown ones per typed identifier (hashed), with the same rules, so a lockout says nothing
      about whether the account exists.
    """
    if ip is not None:
        return f"ip:{scope}:{ip}"
    if principal_id:
        return principal_key_prefix(scope) + principal_id
    digest = hashlib.sha256(typed.encode()).hexdigest()[:40]
    return f"{scope}:unknown:{digest}"


def principal_key_prefix(scope: str) -> str:
    """What a known principal's key is its id appended to (for SQL that appends it)."""
    return f"{scope}:acct:"


def sign_in_key(account_id: str) -> str:
    """A beneficiary's lockout counter: sign-in, re-authentication, the desk's unlock."""
    return throttle_key(Scope.SIGN_IN, account_id)


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minuto" if minutes == 1 else "minutos"
    return (
        f"Muitas tentativas. Tente de novo em {minutes} {unit} "
        "ou use 'Esqueci minha senha'."
    )


def too_many(seconds: int, message: str | None = None) -> GuaritaError:
    return GuaritaError(
        ErrorCode.TOO_MANY_ATTEMPTS,
        message=message or wait_message(seconds),
        details={"retry_after": max(1, int(seconds))},
    )


async def locked_for(session: AsyncSession, key: str, now: datetime | None = None) -> int:
    """Seconds left of the wait on ``key`` (0 when free)."""
    return (await state(session, key, now))[1]


async def state(session: AsyncSession, key: str, now: datetime | None = None) -> tuple[int, int]:
    """``(consecutive failures, seconds left of the wait)`` on ``key``."""
    now = now or utcnow()
    row = await session.get(Throttle, key)
    if row is None:
        return 0, 0
    if row.locked_until is None or row.locked_until <= now:
        return row.count, 0
    return row.count, math.ceil((row.locked_until - now).total_seconds())


def wait_after(failures: int, policy: LockoutPolicy) -> int:
    """1 min after the 5th consecutive failure, doubling, capped at 1 h."""
    if failures < policy.free_failures:
        return 0
    exponent = failures - policy.free_failures
    return min(policy.first_wait_seconds * 2 ** min(exponent, 30), policy.max_wait_seconds)


async def record_failure(
    session: AsyncSession, key: str, policy: LockoutPolicy, now: datetime | None = None
) -> int:
    """Counts one failure atomically; sets the wait it earns. Returns the new count."""
    now = now or utcnow()
    insert = _insert(session)
    statement = insert(Throttle).values(key=key, count=1, window_started_at=now, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[Throttle.key],
        set_={"count": Throttle.count + 1, "updated_at": now},
    ).returning(Throttle.count)
    count = (await session.execute(statement)).scalar_one()
    wait = wait_after(count, policy)
    if wait:
        row = await session.get(Throttle, key, populate_existing=True)
        row.locked_until = now + timedelta(seconds=wait)
        await session.flush()
    return count


async def begin_attempt(
    session: AsyncSession, key: str, policy: LockoutPolicy, now: datetime | None = None
) -> tuple[int, int]:
    """Counts an attempt *before* its password is checked: ``(count, seconds to wait)``.

    Until it is proven right, every attempt counts as a failure and sets the wait it would earn.
    So requests that arrive together cannot all slip in before the first failures are recorded
    (40 parallel guesses get 5 checks, not 26); a success then clears the row (``reset``). The
    row is locked for this short transaction only, never during the hash. When the answer is a
    wait, nothing is counted, so refusals do not lengthen the wait.
    """
    return await begin_attempt_in(plain_sql.in_session(session), key, policy, now)


async def begin_attempt_in(
    tx: plain_sql.Tx, key: str, policy: LockoutPolicy, now: datetime | None = None
) -> tuple[int, int]:
    """:func:`begin_attempt` inside a plain-SQL transaction body: one ``INSERT … ON CONFLICT …
    DO UPDATE … RETURNING`` (and one ``UPDATE`` when the count earns a wait)."""
    now = now or utcnow()
    count, locked_until = await throttle_rows.count_attempt(tx, key, now)
    if locked_until is not None and locked_until > now:
        return count, math.ceil((locked_until - now).total_seconds())
    wait = wait_after(count, policy)
    if wait:
        await throttle_rows.lock_until(tx, key, now + timedelta(seconds=wait))
    return count, 0


async def attempt_state_in(tx: plain_sql.Tx, key: str, now: datetime) -> tuple[int, int]:
    """``(count, seconds of wait left)`` of a failure counter as stored now."""
    count, locked_until = await throttle_rows.state(tx, key)
    if locked_until is None or locked_until <= now:
        return count, 0
    return count, math.ceil((locked_until - now).total_seconds())


async def reset(session: AsyncSession, key: str) -> None:
    await session.execute(delete(Throttle).where(Throttle.key == key))


async def failures(session: AsyncSession, key: str) -> int:
    return (await session.execute(select(Throttle.count).where(Throttle.key == key))).scalar() or 0


async def hit_rate_limit(
    session: AsyncSession, settings: Settings, action: str, ip: str | None,
    now: datetime | None = None,
) -> None:
    """Counts one request of ``action`` from ``ip`` in a fixed window; raises when over.

    Raising rolls the caller's transaction back, so call it in a transaction of its own, or use
    :func:`count_request` and raise after the commit.
    """
    error = await count_request(session, settings, action, ip, now)
    if error is not None:
        raise error


def ip_key(action: str, ip: str) -> str:
    """The throttle row of ``action`` from ``ip``: IPv6 counted per /64 (``rate_limit_key``)."""
    return throttle_key(action, ip=rate_limit_key(ip))


async def refund_request(
    session: AsyncSession, action: str, ip: str | None,
) -> None:
    """Takes back one request counted by :func:`count_request`.

    Sign-in counts every attempt before the password is checked (so that parallel guesses
    cannot slip past the limit) and refunds the ones that succeed: the per-IP limit then
    counts failures only, and thousands of people behind one carrier address can sign in.
    """
    await refund_request_in(plain_sql.in_session(session), action, ip)


async def refund_request_in(tx: plain_sql.Tx, action: str, ip: str | None) -> None:
    """:func:`refund_request` inside a plain-SQL transaction body."""
    if ip:
        await throttle_rows.refund(tx, ip_key(action, ip))


async def count_request(
    session: AsyncSession, settings: Settings, action: str, ip: str | None,
    now: datetime | None = None,
) -> GuaritaError | None:
    """Counts one request; returns the error to raise (after commit) when over the limit."""
    return await count_request_in(plain_sql.in_session(session), settings, action, ip, now)


async def count_request_in(
    tx: plain_sql.Tx, settings: Settings, action: str, ip: str | None,
    now: datetime | None = None,
) -> GuaritaError | None:
    """:func:`count_request` inside a plain-SQL transaction body."""
    if not ip:
        return None
    limit, window = settings.rate_limits.parse(action)
    now = now or utcnow()
    count, started = await throttle_rows.count_in_window(tx, ip_key(action, ip), window, now)
    return over_limit(count, started, limit, window, now)


def over_limit(count: int, started: datetime, limit: int, window: int,
               now: datetime) -> GuaritaError | None:
    """The ``rate_limited`` error a window's ``count`` earns (None within ``limit``)."""
    if count > limit:
        retry = window - (now - started).total_seconds()
        return GuaritaError(
            ErrorCode.RATE_LIMITED,
            message=Message.TOO_MANY_REQUESTS_FROM_ADDRESS,
            details={"retry_after": max(1, math.ceil(retry))},
        )
    return None


async def count_in_window(session: AsyncSession, key: str, window: int,
                          now: datetime | None = None) -> tuple[int, datetime]:
    """Counts one event under ``key`` in a fixed window of ``window`` seconds, atomically
    (one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``); returns the count and the window's
    start. Per-IP rate limits and per-account daily limits (facial validation) use it."""
    return await throttle_rows.count_in_window(plain_sql.in_session(session), key, window,
                                               now or utcnow())
