"""Rows refused because their card or CPF is already someone else's (docs/registry-import.md ›
Rows refused).

- a card repeated in the file: the first row counts, every later one is rejected. The first
  lines live in the import's temporary table of seen cards (``registry_import``), so a repeat
  900,000 lines later is still caught without holding the cards in memory;
- a CPF belongs to one person: a row whose CPF is already stored on another card, or appeared
  on another card earlier in the file, is rejected.
"""

from __future__ import annotations

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from guarita.services.registry_batches import Item
from guarita.services.registry_report import BatchResult
from guarita.services.registry_rows import RegistryRow, RowRejected
from guarita.storage.tables import Beneficiary

beneficiaries = Beneficiary.__table__


async def drop_repeated_cards(
    conn: AsyncConnection, seen: Table, items: list[Item], result: BatchResult
) -> list[RegistryRow]:
    """Rejects rows whose card appeared on an earlier line; remembers the first lines."""
    cards = {
        item.card_number
        for item in items
        if isinstance(item, RegistryRow) or item.valid_card
    }
    earlier: dict[str, int] = {}
    if cards:
        found = await conn.execute(
            select(seen.c.card_number, seen.c.line).where(seen.c.card_number.in_(cards))
        )
        earlier = dict(found.all())
    first: dict[str, int] = {}
    kept: list[RegistryRow] = []
    for item in items:
        if isinstance(item, RowRejected):
            result.reject(item.line, item.card_number, item.reason)
            if item.valid_card and item.card_number not in earlier:
                first.setdefault(item.card_number, item.line)
            continue
        line = earlier.get(item.card_number) or first.get(item.card_number)
        if line is not None:
            result.reject(
                item.line, item.card_number, f"carteirinha repetida no arquivo, linha {line}"
            )
            continue
        first[item.card_number] = item.line
        kept.append(item)
    if first:
        await conn.execute(
            insert(seen), [{"card_number": card, "line": line} for card, line in first.items()]
        )
    return kept


async def drop_taken_cpfs(
    conn: AsyncConnection, seen: Table, rows: list[RegistryRow], result: BatchResult
) -> list[RegistryRow]:
    """A CPF is one person: refuse it on a second card (stored, or earlier in this file).

    Earlier batches of this file are already stored, so the stored rows answer for them; the
    table of seen cards tells whether that other card came from this file, and on which line.
    """
    cpfs = {row.cpf for row in rows if row.cpf}
    owners: dict[str, set[str]] = {}
    if cpfs:
        found = await conn.execute(
            select(beneficiaries.c.cpf, beneficiaries.c.card_number).where(
                beneficiaries.c.cpf.in_(cpfs)
            )
        )
        for cpf, card in found:
            owners.setdefault(cpf, set()).add(card)
    conflicts = {
        min(cards - {row.card_number})
        for row in rows
        if row.cpf and (cards := owners.get(row.cpf, set())) - {row.card_number}
    }
    line_of: dict[str, int] = {}
    if conflicts:
        found = await conn.execute(
            select(seen.c.card_number, seen.c.line).where(seen.c.card_number.in_(conflicts))
        )
        line_of = dict(found.all())
    in_batch: dict[str, RegistryRow] = {}
    kept: list[RegistryRow] = []
    for row in rows:
        if row.cpf:
            others = owners.get(row.cpf, set()) - {row.card_number}
            if others:
                owner = min(others)
                result.reject(row.line, row.card_number, _cpf_taken(owner, line_of.get(owner)))
                continue
            earlier = in_batch.get(row.cpf)
            if earlier is not None and earlier.card_number != row.card_number:
                result.reject(
                    row.line, row.card_number, _cpf_taken(earlier.card_number, earlier.line)
                )
                continue
            in_batch[row.cpf] = row
        kept.append(row)
    return kept


def _cpf_taken(card: str, line: int | None) -> str:
    where = f" (linha {line})" if line is not None else ""
    return f"CPF já pertence à carteirinha {card}{where}"
