"""The statements of a password sign-in, in plain SQL (``storage/plain_sql.py``).

A sign-in is bound by its one argon2id verification; everything around it is two short
transactions (docs/architecture.md › Decisions: Sign-in cost): one *before* the hash that counts the
request per address, reads the account with its password and counts the attempt; and one
*after* it that clears the counter, opens the session, appends the audit event and reads what
the answer shows. Each runs as one body — on SQLite one hand-off to the write lane, on
PostgreSQL one connection — instead of a dozen ORM round trips.

On PostgreSQL every statement is a round trip and a statement of the server's CPU, so the
bodies merge what they can there (docs/architecture.md › Decisions: Sign-in cost): the whole
transaction before the hash is one statement run alone (``_BEGIN``, data-modifying ``WITH``s),
and the session insert, the principal's counter cleared and the audit chain's lock another. SQLite has no
data-modifying ``WITH``, and in its lane a statement is a function call, so it runs them one
by one. What the answer shows and whether the account holds a second factor are one read on
both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from guarita.domain.identifiers import Identifier
from guarita.storage import throttles
from guarita.storage.audit import CHAIN_LOCK_ID
from guarita.storage.plain_sql import AsyncpgTx, Sql, Tx, when

_LOOKUP = Sql("""
    SELECT i.kind, i.login_enabled, a.id, a.status, a.password_disabled_at, c.hash,
           a.trust_level, a.legacy, a.beneficiary_id, a.hold_until, a.hold_reason
    FROM account_identifiers i
    JOIN accounts a ON a.id = i.account_id
    LEFT JOIN credentials c ON c.account_id = a.id AND c.kind = 'password'
    WHERE i.kind = :kind AND i.value = :value
""")
# PostgreSQL: the whole transaction before the hash as one statement, run alone (autocommit):
# the per-IP window counted; the account looked up (the candidates in their order); the attempt
# counted — under the account's key, or the typed identifier's — unless the window is over its
# limit (the scalar subquery on ``w`` runs the window first: the address's row, then the
# principal's, the order every sign-in locks them in) or a wait is running; and the wait the
# count earns set in the same upsert (``throttling.wait_after``: first × 2^(count − free),
# capped). When nothing was counted, ``t`` shows the row as the statement found it.
_BEGIN = Sql(f"""
    WITH w AS ({throttles.IN_WINDOW.text}),
    r AS (SELECT i.kind, i.login_enabled, a.id, a.status, a.password_disabled_at, c.hash,
                 a.trust_level, a.legacy, a.beneficiary_id, a.hold_until, a.hold_reason
          FROM account_identifiers i
          JOIN accounts a ON a.id = i.account_id
          LEFT JOIN credentials c ON c.account_id = a.id AND c.kind = 'password'
          WHERE (i.kind = :kind AND i.value = :value) OR (i.kind = :kind2 AND i.value = :value2)
          ORDER BY i.kind = :kind DESC LIMIT 1),
    k AS (SELECT COALESCE(:known_prefix || (SELECT id FROM r), :unknown_key) AS key),
    c AS (
        INSERT INTO throttles (key, count, window_started_at, updated_at, locked_until)
        SELECT k.key, 1, :now, :now, CASE WHEN 1 >= :free THEN :now + make_interval(
                   secs => LEAST(:first * power(2, LEAST(1 - :free, 30)), :max)) END
        FROM k WHERE (SELECT count FROM w) <= :limit
        ON CONFLICT (key) DO UPDATE SET
            count = throttles.count + 1, updated_at = :now,
            locked_until = CASE WHEN throttles.count + 1 >= :free THEN :now + make_interval(
                secs => LEAST(:first * power(2, LEAST(throttles.count + 1 - :free, 30)), :max))
                ELSE throttles.locked_until END
        WHERE throttles.locked_until IS NULL OR throttles.locked_until <= :now
        RETURNING count)
    SELECT w.count, w.window_started_at, k.key, (SELECT count FROM c), t.count, t.locked_until,
           r.*
    FROM w CROSS JOIN k LEFT JOIN r ON true LEFT JOIN throttles t ON t.key = k.key
""")  # noqa: S608 - constants only
# What the answer shows (the person, the identifiers in id order) and whether the account holds
# a second factor, in one read: one row per identifier (an account signs in through one, so
# there is at least one).
_ANSWER = Sql("""
    SELECT EXISTS (SELECT 1 FROM credentials
                   WHERE account_id = :account AND kind IN (:first, :second)),
           b.name, b.social_name,
           i.id, i.kind, i.value, i.verified_at, i.login_enabled, i.source
    FROM account_identifiers i LEFT JOIN beneficiaries b ON b.id = :beneficiary
    WHERE i.account_id = :account ORDER BY i.id
""")
_SESSION = Sql("""
    INSERT INTO sessions (id_hash, principal_kind, account_id, staff_id, csrf_token, created_at,
                          last_seen_at, expires_at, auth_time, reauth_at, amr, ip, user_agent,
                          ended_at)
    VALUES (:id_hash, :principal_kind, :account_id, :staff_id, :csrf_token, :created_at,
            :last_seen_at, :expires_at, :auth_time, :reauth_at, :amr, :ip, :user_agent, :ended_at)
""")
# PostgreSQL: the principal's counter cleared and the session inserted, then — both done, as the
# join on their results makes sure — the audit chain's lock taken (``audit.append_in`` with
# ``locked``), in the order the ORM path takes them.
_OPEN_AND_LOCK = Sql(f"""
    WITH d AS (DELETE FROM throttles WHERE key = :key RETURNING 1),
         s AS ({_SESSION.text} RETURNING 1)
    SELECT pg_advisory_xact_lock(:lock) FROM s LEFT JOIN (SELECT count(*) FROM d) x ON true
""")  # noqa: S608 - constants only
_RECENT_SESSIONS = Sql("""
    SELECT ip, user_agent, created_at FROM sessions
    WHERE account_id = :account ORDER BY created_at DESC LIMIT :limit
""")


@dataclass(frozen=True)
class SignInRecord:
    """The identifier typed, its account and the account's password hash (None: no password)."""

    identifier_kind: str
    login_enabled: bool
    account_id: str
    status: str
    password_disabled_at: datetime | None
    password_hash: str | None
    trust_level: str
    legacy: bool
    beneficiary_id: int | None
    hold_until: datetime | None = None
    hold_reason: str | None = None


async def sign_in_record(tx: Tx, candidates: Iterable[Identifier]) -> SignInRecord | None:
    """The first stored candidate (most likely first) with its account and password."""
    for candidate in candidates:
        row = await tx.one(_LOOKUP, kind=candidate.kind.value, value=candidate.value)
        if row is not None:
            return _record(row)
    return None


def _record(row: tuple) -> SignInRecord:
    (kind, enabled, account, status, disabled_at, hash_, level, legacy, beneficiary,
     hold_until, hold_reason) = row
    return SignInRecord(kind, bool(enabled), account, status, when(disabled_at), hash_,
                        level, bool(legacy), beneficiary, when(hold_until), hold_reason)


@dataclass(frozen=True)
class Begun:
    """What :func:`begin_sign_in` counted and found."""

    window_count: int
    window_started: datetime
    key: str                       # the attempt's throttle key
    counted: int | None            # the attempt's count; None: not counted
    failures: int | None           # when not counted: the row as found (None: no row)
    locked_until: datetime | None
    record: SignInRecord | None


async def begin_sign_in(
    tx: AsyncpgTx, candidates: list[Identifier], *, window_key: str, window: int, limit: int,
    now: datetime, known_prefix: str, unknown_key: str, free: int, first_wait: int,
    max_wait: int,
) -> Begun:
    """PostgreSQL's transaction before the hash, as one statement (``_BEGIN``); ``tx`` runs
    it alone, in autocommit."""
    one, two = candidates[0], candidates[1] if len(candidates) > 1 else candidates[0]
    (window_count, started, key, counted, failures, locked_until,
     *found) = await tx.one(
        _BEGIN, key=window_key, now=now, restart=now - timedelta(seconds=window),
        kind=one.kind.value, value=one.value, kind2=two.kind.value, value2=two.value,
        known_prefix=known_prefix, unknown_key=unknown_key, free=free,
        first=float(first_wait), max=float(max_wait), limit=limit)
    record = _record(tuple(found)) if found[2] is not None else None
    return Begun(window_count, when(started), key, counted, failures, when(locked_until),
                 record)


async def open_session(tx: Tx, attempt_key: str, values: dict[str, Any]) -> bool:
    """The principal's counter cleared and the session inserted; True when the audit chain's
    lock was taken with them (PostgreSQL, one statement), False when ``append_in`` takes it."""
    if isinstance(tx, AsyncpgTx):
        await tx.one(_OPEN_AND_LOCK, key=attempt_key, lock=CHAIN_LOCK_ID,
                     **{**values, "amr": json.dumps(list(values["amr"]))})
        return True
    await throttles.reset(tx, attempt_key)
    await insert_session(tx, values)
    return False


async def insert_session(tx: Tx, values: dict[str, Any]) -> None:
    """One ``sessions`` row from the values ``services/sessions.new_session`` made."""
    await tx.run(_SESSION, **{**values, "amr": json.dumps(list(values["amr"]))})


async def recent_sessions(tx: Tx, account_id: str, limit: int) -> list[tuple]:
    """``(ip, user_agent, created_at)`` of the account's newest sessions (the fraud guard's)."""
    return [(ip, agent, when(created))
            for ip, agent, created in await tx.all(_RECENT_SESSIONS, account=account_id,
                                                   limit=limit)]


@dataclass(frozen=True)
class AccountRows:
    """What the answer to a sign-in shows of the account, read in the sign-in's transaction."""

    account_id: str
    trust_level: str
    legacy: bool
    name: str
    social_name: str | None
    # (id, kind, value, verified_at, login_enabled, source), in id order
    identifiers: list[tuple[int, str, str, datetime | None, bool, str]]
    hold_until: datetime | None = None  # the fraud guard's hold (services/guard.py)
    hold_reason: str | None = None


async def answer_rows(tx: Tx, record: SignInRecord,
                      second_factors: tuple[str, str]) -> AccountRows | None:
    """:class:`AccountRows` read in one statement; None when the account holds one of the
    ``second_factors`` (or, its identifiers gone meanwhile, has none to show)."""
    rows = await tx.all(_ANSWER, account=record.account_id, beneficiary=record.beneficiary_id,
                        first=second_factors[0], second=second_factors[1])
    if not rows or rows[0][0]:
        return None
    _, name, social_name = rows[0][:3]
    identifiers = [(id_, kind, value, when(verified), bool(enabled), source)
                   for *_, id_, kind, value, verified, enabled, source in rows]
    return AccountRows(record.account_id, record.trust_level, record.legacy,
                       name or "", social_name, identifiers, record.hold_until,
                       record.hold_reason)
