"""Upserting one batch of registry rows into ``beneficiaries``, by card number.

docs/registry-import.md › How it stays fast and small: the stored rows of a batch's cards come
back with one ``IN`` query, and inserts and updates go out with executemany (SQLAlchemy Core),
never one ORM object per row. A row whose compared columns (``registry_rows.COMPARED``) equal
the stored ones is *unchanged* and not written at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from guarita.services.registry_rows import COMPARED, RegistryRow
from guarita.storage.tables import Beneficiary

beneficiaries = Beneficiary.__table__


@dataclass
class StoredBeneficiary:
    """The stored row of a card, as far as the import compares it."""

    id: int
    legacy_password_hash: str | None
    compared: tuple[object, ...]


async def stored_by_card(conn: AsyncConnection, cards: list[str]) -> dict[str, StoredBeneficiary]:
    if not cards:
        return {}
    found = await conn.execute(
        select(
            beneficiaries.c.id,
            beneficiaries.c.card_number,
            *(beneficiaries.c[name] for name in COMPARED),
        ).where(beneficiaries.c.card_number.in_(cards))
    )
    hash_at = 2 + COMPARED.index("legacy_password_hash")
    return {
        row[1]: StoredBeneficiary(id=row[0], legacy_password_hash=row[hash_at], compared=tuple(row[2:]))
        for row in found
    }


async def insert_beneficiaries(
    conn: AsyncConnection, rows: list[RegistryRow], now: datetime
) -> dict[str, int]:
    """Inserts; returns card → new id (needed only for legacy accounts, but cheap to return)."""
    if not rows:
        return {}
    found = await conn.execute(
        insert(beneficiaries).returning(beneficiaries.c.card_number, beneficiaries.c.id),
        [{**row.values(), "created_at": now, "updated_at": now} for row in rows],
    )
    return dict(found.all())


async def update_beneficiaries(
    conn: AsyncConnection, updates: list[tuple[RegistryRow, StoredBeneficiary]], now: datetime
) -> None:
    if not updates:
        return
    await conn.execute(
        update(beneficiaries).where(beneficiaries.c.id == bindparam("stored_id")),
        [
            # Every compared column, not card_number: it is the key and did not change.
            {**dict(zip(COMPARED, row.compared(), strict=True)), "updated_at": now,
             "stored_id": before.id}
            for row, before in updates
        ],
    )

