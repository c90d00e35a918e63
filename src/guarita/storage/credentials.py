"""The credentials table by principal and type (``storage/tables.py`` › Credential).

Every write that decides a race is one conditional ``UPDATE``: a TOTP step only goes up, a set
of recovery codes changes only from the version that was read, so two requests with one code have
one winner on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.accounts import PrincipalKind
from guarita.storage.tables import Credential
from guarita.storage.types import utcnow


def _owned_by(kind: str, principal_id: str | int) -> ColumnElement[bool]:
    if kind == PrincipalKind.STAFF:
        return Credential.staff_id == int(principal_id)
    return Credential.account_id == str(principal_id)


async def get(session: AsyncSession, kind: str, principal_id: str | int, type_: str,
              *, fresh: bool = False) -> Credential | None:
    return (await session.execute(
        select(Credential).where(_owned_by(kind, principal_id), Credential.kind == type_)
        .execution_options(populate_existing=fresh)
    )).scalar_one_or_none()


async def types_of(session: AsyncSession, kind: str, principal_id: str | int) -> list[str]:
    return list((await session.execute(
        select(Credential.kind).where(_owned_by(kind, principal_id)).order_by(Credential.id)
    )).scalars())


async def put(
    session: AsyncSession, kind: str, principal_id: str | int, type_: str, *,
    hash: str | None = None, algorithm: str | None = None, data: dict[str, Any] | None = None,
    counter: int | None = None, now: datetime | None = None,
) -> Credential:
    """Creates or replaces the principal's credential of ``type_`` (a new TOTP secret, a new
    set of recovery codes: the old one stops working in the same transaction)."""
    now = now or utcnow()
    row = await get(session, kind, principal_id, type_)
    if row is None:
        row = Credential(
            principal_kind=str(kind), kind=type_, created_at=now,
            account_id=str(principal_id) if kind == PrincipalKind.ACCOUNT else None,
            staff_id=int(principal_id) if kind == PrincipalKind.STAFF else None,
        )
        session.add(row)
    row.hash = hash
    row.algorithm = algorithm
    row.data = dict(data or {})
    row.counter = counter
    row.changed_at = now
    row.last_used_at = None
    await session.flush()
    return row


async def remove(session: AsyncSession, kind: str, principal_id: str | int,
                 *types: str) -> int:
    statement = delete(Credential).where(_owned_by(kind, principal_id))
    if types:
        statement = statement.where(Credential.kind.in_(types))
    return (await session.execute(statement)).rowcount


async def advance_counter(session: AsyncSession, credential_id: int, value: int,
                          now: datetime | None = None) -> bool:
    """Raises ``counter`` to ``value`` only if it is below (RFC 6238 §5.2: accept a code once)."""
    won = await session.execute(
        update(Credential)
        .where(Credential.id == credential_id,
               or_(Credential.counter.is_(None), Credential.counter < value))
        .values(counter=value, last_used_at=now or utcnow())
    )
    return won.rowcount == 1


async def swap_data(session: AsyncSession, credential_id: int, seen_version: int | None,
                    data: dict[str, Any], now: datetime | None = None) -> bool:
    """Replaces ``data`` only if nobody changed it since ``seen_version`` was read."""
    same = (Credential.counter.is_(None) if seen_version is None
            else Credential.counter == seen_version)
    won = await session.execute(
        update(Credential).where(Credential.id == credential_id, same)
        .values(data=data, counter=(seen_version or 0) + 1, last_used_at=now or utcnow())
    )
    return won.rowcount == 1
