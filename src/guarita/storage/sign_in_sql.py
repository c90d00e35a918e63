"""The statements of a password sign-in, in plain SQL (``storage/plain_sql.py``).

A sign-in is bound by its one argon2id verification; everything around it is two short
transactions (docs/architecture.md › Decisions: Sign-in cost): one *before* the hash that counts the
request per address, reads the account with its password and counts the attempt; and one
*after* it that clears the counter, opens the session, appends the audit event and reads what
the answer shows. Each runs as one body — on SQLite one hand-off to the write lane, on
PostgreSQL one connection — instead of a dozen ORM round trips.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guarita.domain.identifiers import Identifier
from guarita.storage.plain_sql import Sql, Tx, when

_LOOKUP = Sql("""
    SELECT i.kind, i.login_enabled, a.id, a.status, a.password_disabled_at, c.hash,
           a.trust_level, a.legacy, a.beneficiary_id, a.hold_until, a.hold_reason
    FROM account_identifiers i
    JOIN accounts a ON a.id = i.account_id
    LEFT JOIN credentials c ON c.account_id = a.id AND c.kind = 'password'
    WHERE i.kind = :kind AND i.value = :value
""")
_HAS_ANY = Sql("""
    SELECT 1 FROM credentials WHERE account_id = :account AND kind IN (:first, :second) LIMIT 1
""")
_SESSION = Sql("""
    INSERT INTO sessions (id_hash, principal_kind, account_id, staff_id, csrf_token, created_at,
                          last_seen_at, expires_at, auth_time, reauth_at, amr, ip, user_agent,
                          ended_at)
    VALUES (:id_hash, :principal_kind, :account_id, :staff_id, :csrf_token, :created_at,
            :last_seen_at, :expires_at, :auth_time, :reauth_at, :amr, :ip, :user_agent, :ended_at)
""")
_RECENT_SESSIONS = Sql("""
    SELECT ip, user_agent, created_at FROM sessions
    WHERE account_id = :account ORDER BY created_at DESC LIMIT :limit
""")
_PERSON = Sql("SELECT name, social_name FROM beneficiaries WHERE id = :id")
_IDENTIFIERS = Sql("""
    SELECT id, kind, value, verified_at, login_enabled, source
    FROM account_identifiers WHERE account_id = :account ORDER BY id
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
            (kind, enabled, account, status, disabled_at, hash_, level, legacy, beneficiary,
             hold_until, hold_reason) = row
            return SignInRecord(kind, bool(enabled), account, status, when(disabled_at), hash_,
                                level, bool(legacy), beneficiary, when(hold_until), hold_reason)
    return None


async def holds_any(tx: Tx, account_id: str, kinds: tuple[str, str]) -> bool:
    """Whether the account holds a credential of one of two ``kinds`` (its second factors)."""
    return await tx.one(_HAS_ANY, account=account_id, first=kinds[0], second=kinds[1]) is not None


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


async def account_rows(tx: Tx, record: SignInRecord) -> AccountRows:
    person = (await tx.one(_PERSON, id=record.beneficiary_id)
              if record.beneficiary_id is not None else None)
    identifiers = [
        (id_, kind, value, when(verified), bool(enabled), source)
        for id_, kind, value, verified, enabled, source
        in await tx.all(_IDENTIFIERS, account=record.account_id)
    ]
    return AccountRows(record.account_id, record.trust_level, record.legacy,
                       person[0] if person else "", person[1] if person else None, identifiers,
                       record.hold_until, record.hold_reason)
