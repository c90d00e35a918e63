"""Importing the organisation's beneficiary registry (docs/registry-import.md; DESIGN.md › Contracts).

``import_beneficiaries(runtime, path)`` upserts every row of a beneficiary CSV by card number and
reports how many were *created*, *updated*, *unchanged* and *rejected* (each rejection with its
line and a pt-BR reason). It never stops at a bad row; only a file that cannot be used at all
(``registry_file.RegistryFileError``) stops it, and that is found before anything is written.
Running it again on the same file changes nothing and reports every row *unchanged*.

How it stays fast and small (``docs/registry-import.md`` has the figures):

- the file is streamed row by row (``registry_file.read_rows``) and cut into batches; each batch
  is one transaction that looks up the stored rows of its cards and CPFs with one ``IN`` query
  each and writes with executemany (SQLAlchemy Core), never one ORM object per row;
- the next batch is read and normalised while the current one is written, by a child process
  for large files (``registry_batches``): parsing (e-mail and phone validation above all) costs
  more than writing, and this puts a second core to work on it;
- the cards already seen in this file are remembered in a temporary table of the import's own
  connection, not in Python memory, so a card repeated 900,000 lines later is still caught and
  memory does not grow with the file.

The rules beyond the CSV contract live next to the code that applies them:
``registry_duplicates`` (a card repeated in the file, a CPF on two cards),
``registry_upsert`` (created, updated or unchanged by card number) and
``registry_legacy_accounts`` (legacy accounts and their passwords, DESIGN.md › Legacy accounts).
``registry_report`` holds the report; its names are importable from here as before.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager, suppress
from datetime import date

from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from guarita.domain.audit_tags import AuditTag
from guarita.runtime import Runtime
from guarita.services import erasure
from guarita.services.registry_batches import Item, batches
from guarita.services.registry_duplicates import drop_repeated_cards, drop_taken_cpfs
from guarita.services.registry_file import RegistryFileError, check_file
from guarita.services.registry_legacy_accounts import (
    create_legacy_accounts,
    refresh_legacy_passwords,
)
from guarita.services.registry_report import LISTED_MAX, BatchResult, ImportReport, RowNote
from guarita.services.registry_rows import CardLimits, RegistryRow
from guarita.services.registry_upsert import (
    StoredBeneficiary,
    insert_beneficiaries,
    stored_by_card,
    update_beneficiaries,
)
from guarita.storage.audit import RequestContext, record, record_many
from guarita.storage.database import Database
from guarita.storage.tables import Beneficiary
from guarita.storage.types import utcnow

__all__ = [
    "BATCH_SIZE",
    "LISTED_MAX",
    "ImportReport",
    "ProgressCallback",
    "RegistryFileError",
    "RowNote",
    "check_file",
    "import_beneficiaries",
]

BATCH_SIZE = 2000
# A batch that loses a race with another writer (a person registering at that moment) is
# simply run again against what is now stored.
_ATTEMPTS = 3

CARD_COLUMN_MAX = Beneficiary.__table__.c.card_number.type.length

# (bytes read, bytes in the file, rows read) after each batch.
ProgressCallback = Callable[[int, int, int], None]


async def import_beneficiaries(
    runtime: Runtime,
    path: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    context: RequestContext | None = None,
    batch_size: int = BATCH_SIZE,
    today: date | None = None,
    read_in_process: bool | None = None,
) -> ImportReport:
    """Imports the CSV at ``path``; see the module docstring for the rules.

    Raises ``RegistryFileError`` (pt-BR message) when the file cannot be used at all; nothing is
    written then. ``context.actor`` names who ran it in the audit log (``cli:<user>``).
    ``read_in_process`` forces where the file is read (``registry_batches``); by default large
    files are read by a child process.
    """
    started = time.perf_counter()
    if runtime.db.pgbouncer:
        # The temporary table of cards seen lives on one connection across the file's
        # transactions; PgBouncer in transaction mode moves them between connections.
        raise RegistryFileError(
            "A importação precisa de uma conexão direta ao PostgreSQL, não pelo PgBouncer: "
            "rode-a com GUARITA_DATABASE_URL sem ?pgbouncer=true (docs/scale.md)."
        )
    checked = check_file(path)
    settings = runtime.settings
    limits = CardLimits(settings.card_min_length, min(settings.card_max_length, CARD_COLUMN_MAX))
    today = today or date.today()
    context = context or RequestContext()
    report = ImportReport(file_sha256=checked.sha256)
    importer = _Importer(context, checked.sha256, runtime.db)

    source = batches(checked, limits, today, batch_size, in_process=read_in_process)
    async with runtime.db.engine.connect() as conn, _seen_cards(conn) as seen, aclosing(source):
        try:
            async for items, done in source:
                report.merge(await importer.apply(conn, seen, items))
                if progress is not None:
                    progress(done, checked.size, report.rows)
        except RegistryFileError as exc:
            if not report.rows:
                raise
            # The file changed after check_file (a copy still running): say what was kept.
            raise RegistryFileError(
                f"{exc} As {report.rows} linhas anteriores já foram importadas; corrija o "
                "arquivo e importe de novo (nada será duplicado)."
            ) from exc
        report.seconds = time.perf_counter() - started
        async with conn.begin():
            session = runtime.db.session_on(conn)
            await record(
                session,
                AuditTag.REGISTRY_IMPORTED,
                context=context,
                details={
                    **report.counts(),
                    "file": checked.path.name,
                    "file_sha256": checked.sha256,
                    "seconds": round(report.seconds, 1),
                },
            )
            await session.close()
    return report


# -- cards already seen in this file ----------------------------------------------------------

_SEEN = Table(
    "guarita_import_seen",
    MetaData(),
    Column("card_number", String(CARD_COLUMN_MAX), primary_key=True),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


@asynccontextmanager
async def _seen_cards(conn: AsyncConnection) -> AsyncIterator[Table]:
    """A temporary table (this connection only, on disk) of card → first line in this file."""
    schema = "temp" if conn.dialect.name == "sqlite" else "pg_temp"
    async with conn.begin():
        await conn.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{_SEEN.name}")
        await conn.run_sync(_SEEN.create)
    try:
        yield _SEEN
    finally:
        # Best effort: the table dies with the connection anyway, and the next import drops it
        # first; a failure here must not hide the error that ended the import.
        with suppress(Exception):
            if conn.in_transaction():
                await conn.rollback()
            async with conn.begin():
                await conn.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{_SEEN.name}")


# -- one batch ----------------------------------------------------------------------------------


class _Importer:
    def __init__(self, context: RequestContext, file_sha256: str, database: Database):
        self.context = context
        self.file_sha256 = file_sha256
        self.database = database  # its sessions carry the audit chain's key

    async def apply(self, conn: AsyncConnection, seen: Table, items: list[Item]) -> BatchResult:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with conn.begin():
                    return await self._apply(conn, seen, items)
            except IntegrityError:
                if attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def _apply(self, conn: AsyncConnection, seen: Table, items: list[Item]) -> BatchResult:
        result = BatchResult()
        now = utcnow()
        rows = await drop_repeated_cards(conn, seen, items, result)
        rows = await drop_taken_cpfs(conn, seen, rows, result)
        stored = await stored_by_card(conn, [row.card_number for row in rows])

        inserts: list[RegistryRow] = []
        updates: list[tuple[RegistryRow, StoredBeneficiary]] = []
        for row in rows:
            before = stored.get(row.card_number)
            if before is None:
                inserts.append(row)
                continue
            kept = row.keeping(before.compared)
            if kept.compared() == before.compared:
                result.unchanged += 1
            else:
                updates.append((kept, before))
        result.created = len(inserts)
        result.updated = len(updates)

        new_ids = await insert_beneficiaries(conn, inserts, now)
        await update_beneficiaries(conn, updates, now)

        wanting_account = [
            (row, new_ids[row.card_number]) for row in inserts if row.legacy_password_hash
        ]
        changed_password = [
            (row, before)
            for row, before in updates
            if row.legacy_password_hash and row.legacy_password_hash != before.legacy_password_hash
        ]
        wanting_account += await refresh_legacy_passwords(conn, changed_password, result, now)
        wanting_account = await self._not_erased(conn, wanting_account, result)
        result.legacy_account_ids = await create_legacy_accounts(
            conn, wanting_account, result, now
        )
        if result.legacy_account_ids:
            session = self.database.session_on(conn)
            await record_many(
                session,
                AuditTag.ACCOUNT_LEGACY_IMPORTED,
                result.legacy_account_ids,
                context=self.context,
                details={"via": "registry_import", "file_sha256": self.file_sha256},
                at=now,
            )
            await session.close()
        return result

    async def _not_erased(self, conn: AsyncConnection, wanted: list, result: BatchResult) -> list:
        """A card whose account was erased at its owner's request gets no legacy account back
        from the old portal's password (docs/privacy.md › O que a exclusão guarda); the person
        may still register again through Cadastro."""
        if not wanted:
            return wanted
        session = self.database.session_on(conn)
        try:
            erased = await erasure.erased_cards(session, [row.card_number for row, _ in wanted])
        finally:
            await session.close()
        for row, _ in wanted:
            if row.card_number in erased:
                result.warn(row, "a conta desta carteirinha foi excluída a pedido da pessoa; "
                                 "a conta antiga não foi recriada")
        return [(row, ident) for row, ident in wanted if row.card_number not in erased]
