"""Writing beneficiary CSVs for the registry tests, and reading back what was stored."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select

from guarita.runtime import Runtime
from guarita.services.registry_file import COLUMNS
from guarita.storage.tables import Account, AccountIdentifier, Beneficiary, Credential


def person(card: str = "300000001", **fields: str) -> dict[str, str]:
    """One CSV row as a dict, every column present (empty unless given)."""
    values = {column: "" for column in COLUMNS}
    values.update(card_number=card, birth_date="1950-03-04", name="Maria José da Conceição")
    values.update(fields)
    return values


def write_csv(
    path: Path, rows: list[dict[str, str]], *, bom: bool = False, delimiter: str = ",",
    columns: tuple[str, ...] = COLUMNS,
) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(column, "") for column in columns])
    return path


async def count(runtime: Runtime, table) -> int:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


async def beneficiary(runtime: Runtime, card: str) -> Beneficiary | None:
    async with runtime.db.transaction() as session:
        return (
            await session.execute(select(Beneficiary).where(Beneficiary.card_number == card))
        ).scalar_one_or_none()


AccountView = tuple[Account, list[AccountIdentifier], Credential | None]


async def account_of(runtime: Runtime, card: str) -> AccountView | None:
    async with runtime.db.transaction() as session:
        found = (
            await session.execute(
                select(Account).join(Beneficiary, Account.beneficiary_id == Beneficiary.id)
                .where(Beneficiary.card_number == card)
            )
        ).scalar_one_or_none()
        if found is None:
            return None
        identifiers = list((await session.execute(
            select(AccountIdentifier).where(AccountIdentifier.account_id == found.id)
            .order_by(AccountIdentifier.id)
        )).scalars())
        credential = (await session.execute(
            select(Credential).where(Credential.account_id == found.id)
        )).scalar_one_or_none()
        return found, identifiers, credential
