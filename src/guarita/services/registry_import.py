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

Rules beyond the CSV contract, decided here (and in the docs):

- a card repeated in the file: the first row counts, every later one is rejected;
- a CPF belongs to one person: a row whose CPF is already stored on another card, or appeared
  on another card earlier in the file, is rejected;
- a row with ``legacy_password_hash`` gives that beneficiary a *legacy account* (card login only,
  DESIGN.md › Legacy accounts) in the same transaction. Later imports replace that password only
  when the registry's hash changed *and* the account still holds the hash of the previous
  import: once the person signed in (the hash was upgraded to argon2id) or changed it, Guarita's
  credential wins. An account the person created through Cadastro is never touched;
- a CPF, e-mail or phone that already identifies another account is left off the new legacy
  account (identifiers are unique) and noted as a warning on that row.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import aclosing, asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from guarita.domain.accounts import AccountStatus, TrustLevel, initial_identifiers
from guarita.domain.audit_tags import AuditTag
from guarita.domain.hashing import algorithm_of
from guarita.domain.identifiers import IdentifierKind
from guarita.runtime import Runtime
from guarita.services.registry_batches import Item, batches
from guarita.services.registry_file import RegistryFileError, check_file
from guarita.services.registry_rows import COMPARED, CardLimits, RegistryRow, RowRejected
from guarita.storage.audit import RequestContext, record, record_many
from guarita.storage.tables import Account, AccountIdentifier, Beneficiary, Credential
from guarita.storage.types import utcnow

BATCH_SIZE = 2000
# Rejections and warnings kept in the report (the counts are always complete).
LISTED_MAX = 1000
# A batch that loses a race with another writer (a person registering at that moment) is
# simply run again against what is now stored.
_ATTEMPTS = 3

beneficiaries = Beneficiary.__table__
accounts = Account.__table__
identifiers = AccountIdentifier.__table__
credentials = Credential.__table__
CARD_COLUMN_MAX = beneficiaries.c.card_number.type.length

# (bytes read, bytes in the file, rows read) after each batch.
ProgressCallback = Callable[[int, int, int], None]


@dataclass(frozen=True)
class RowNote:
    """A rejected row, or a warning about an imported one."""

    line: int
    card_number: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "card_number": self.card_number, "reason": self.reason}

    def __str__(self) -> str:
        card = f" (carteirinha {self.card_number})" if self.card_number else ""
        return f"linha {self.line}{card}: {self.reason}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warned: int = 0
    legacy_accounts_created: int = 0
    legacy_passwords_updated: int = 0
    rejections: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    file_sha256: str = ""
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "warned": self.warned,
            "legacy_accounts_created": self.legacy_accounts_created,
            "legacy_passwords_updated": self.legacy_passwords_updated,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "rejections": [note.as_json() for note in self.rejections],
            "rejections_truncated": self.rejected > len(self.rejections),
            "warnings": [note.as_json() for note in self.warnings],
            "warnings_truncated": self.warned > len(self.warnings),
            "file_sha256": self.file_sha256,
            "seconds": round(self.seconds, 3),
        }

    def _merge(self, batch: _BatchResult) -> None:
        self.created += batch.created
        self.updated += batch.updated
        self.unchanged += batch.unchanged
        self.rejected += len(batch.rejections)
        self.warned += len(batch.warnings)
        self.legacy_accounts_created += len(batch.legacy_account_ids)
        self.legacy_passwords_updated += batch.legacy_passwords_updated
        # Each check of a batch rejects in its own pass: put the lines back in file order.
        by_line = attrgetter("line")
        room = LISTED_MAX - len(self.rejections)
        self.rejections.extend(sorted(batch.rejections, key=by_line)[: max(room, 0)])
        room = LISTED_MAX - len(self.warnings)
        self.warnings.extend(sorted(batch.warnings, key=by_line)[: max(room, 0)])


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
    checked = check_file(path)
    settings = runtime.settings
    limits = CardLimits(settings.card_min_length, min(settings.card_max_length, CARD_COLUMN_MAX))
    today = today or date.today()
    context = context or RequestContext()
    report = ImportReport(file_sha256=checked.sha256)
    importer = _Importer(context, checked.sha256)

    source = batches(checked, limits, today, batch_size, in_process=read_in_process)
    async with runtime.db.engine.connect() as conn, _seen_cards(conn) as seen, aclosing(source):
        try:
            async for items, done in source:
                report._merge(await importer.apply(conn, seen, items))
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
            session = AsyncSession(bind=conn)
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


@dataclass
class _BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    legacy_passwords_updated: int = 0
    rejections: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    legacy_account_ids: list[str] = field(default_factory=list)

    def reject(self, line: int, card: str, reason: str) -> None:
        self.rejections.append(RowNote(line, card, reason))

    def warn(self, row: RegistryRow, reason: str) -> None:
        self.warnings.append(RowNote(row.line, row.card_number, reason))


@dataclass
class _Stored:
    id: int
    legacy_password_hash: str | None
    compared: tuple[object, ...]


class _Importer:
    def __init__(self, context: RequestContext, file_sha256: str):
        self.context = context
        self.file_sha256 = file_sha256

    async def apply(self, conn: AsyncConnection, seen: Table, items: list[Item]) -> _BatchResult:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with conn.begin():
                    return await self._apply(conn, seen, items)
            except IntegrityError:
                if attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def _apply(self, conn: AsyncConnection, seen: Table, items: list[Item]) -> _BatchResult:
        result = _BatchResult()
        now = utcnow()
        rows = await _drop_repeated_cards(conn, seen, items, result)
        rows = await _drop_taken_cpfs(conn, seen, rows, result)
        stored = await _stored_by_card(conn, [row.card_number for row in rows])

        inserts: list[RegistryRow] = []
        updates: list[tuple[RegistryRow, _Stored]] = []
        for row in rows:
            before = stored.get(row.card_number)
            if before is None:
                inserts.append(row)
            elif row.compared() == before.compared:
                result.unchanged += 1
            else:
                updates.append((row, before))
        result.created = len(inserts)
        result.updated = len(updates)

        new_ids = await _insert_beneficiaries(conn, inserts, now)
        await _update_beneficiaries(conn, updates, now)

        wanting_account = [
            (row, new_ids[row.card_number]) for row in inserts if row.legacy_password_hash
        ]
        changed_password = [
            (row, before)
            for row, before in updates
            if row.legacy_password_hash and row.legacy_password_hash != before.legacy_password_hash
        ]
        wanting_account += await _refresh_legacy_passwords(conn, changed_password, result, now)
        result.legacy_account_ids = await _create_legacy_accounts(
            conn, wanting_account, result, now
        )
        if result.legacy_account_ids:
            session = AsyncSession(bind=conn)
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


async def _drop_repeated_cards(
    conn: AsyncConnection, seen: Table, items: list[Item], result: _BatchResult
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


async def _drop_taken_cpfs(
    conn: AsyncConnection, seen: Table, rows: list[RegistryRow], result: _BatchResult
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


async def _stored_by_card(conn: AsyncConnection, cards: list[str]) -> dict[str, _Stored]:
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
        row[1]: _Stored(id=row[0], legacy_password_hash=row[hash_at], compared=tuple(row[2:]))
        for row in found
    }


async def _insert_beneficiaries(
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


async def _update_beneficiaries(
    conn: AsyncConnection, updates: list[tuple[RegistryRow, _Stored]], now: datetime
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


async def _refresh_legacy_passwords(
    conn: AsyncConnection,
    changed: list[tuple[RegistryRow, _Stored]],
    result: _BatchResult,
    now: datetime,
) -> list[tuple[RegistryRow, int]]:
    """Rows whose registry password changed: update the legacy credential, or ask for an account.

    Returns the rows of beneficiaries that have no account yet.
    """
    if not changed:
        return []
    by_beneficiary = {before.id: (row, before) for row, before in changed}
    found = await conn.execute(
        select(accounts.c.beneficiary_id, accounts.c.id, accounts.c.legacy).where(
            accounts.c.beneficiary_id.in_(by_beneficiary)
        )
    )
    account_of = {bid: (account_id, legacy) for bid, account_id, legacy in found}
    legacy_ids = [account_id for account_id, legacy in account_of.values() if legacy]
    current: dict[str, str] = {}
    if legacy_ids:
        found = await conn.execute(
            select(credentials.c.account_id, credentials.c.hash).where(
                credentials.c.account_id.in_(legacy_ids), credentials.c.kind == "password"
            )
        )
        current = dict(found.all())

    without_account: list[tuple[RegistryRow, int]] = []
    replace: list[dict[str, Any]] = []
    add: list[dict[str, Any]] = []
    for beneficiary_id, (row, before) in by_beneficiary.items():
        new_hash = row.legacy_password_hash
        assert new_hash is not None
        owner = account_of.get(beneficiary_id)
        if owner is None:
            without_account.append((row, beneficiary_id))
            continue
        account_id, legacy = owner
        if not legacy:
            result.warn(row, "a pessoa já tem cadastro no Guarita; a senha antiga foi ignorada")
            continue
        stored_hash = current.get(account_id)
        values = {"algorithm": algorithm_of(new_hash).value, "hash": new_hash, "changed_at": now}
        if stored_hash is None:
            add.append({"account_id": account_id, "kind": "password", **values})
        elif stored_hash == new_hash:
            continue
        elif stored_hash == before.legacy_password_hash:
            replace.append({"target": account_id, **values})
        else:
            result.warn(
                row, "a pessoa já entrou ou trocou a senha no Guarita; a senha antiga foi ignorada"
            )
            continue
    if replace:
        await conn.execute(
            update(credentials).where(
                credentials.c.account_id == bindparam("target"), credentials.c.kind == "password"
            ),
            replace,
        )
    if add:
        await conn.execute(insert(credentials), add)
    result.legacy_passwords_updated = len(replace) + len(add)
    return without_account


async def _create_legacy_accounts(
    conn: AsyncConnection,
    wanted: list[tuple[RegistryRow, int]],
    result: _BatchResult,
    now: datetime,
) -> list[str]:
    """Legacy accounts: card login only; CPF waits for a recovery; registry contacts trusted.

    DESIGN.md › Legacy accounts. Identifier ``(kind, value)`` is unique across accounts: one
    already taken (a family's shared e-mail, say) is left off this account with a warning.
    """
    if not wanted:
        return []
    planned: list[tuple[RegistryRow, int, list[tuple[IdentifierKind, str, bool, bool]]]] = []
    for row, beneficiary_id in wanted:
        idents = [
            (item.kind, item.value, item.verified, item.login_enabled)
            for item in initial_identifiers(card=row.card_number, cpf=row.cpf, email=row.email,
                                            phone=row.phone, legacy=True)
        ]
        planned.append((row, beneficiary_id, idents))

    taken = await _taken_identifiers(
        conn, ((kind, value) for _, _, idents in planned for kind, value, _, _ in idents)
    )
    account_rows: list[dict[str, Any]] = []
    credential_rows: list[dict[str, Any]] = []
    identifier_rows: list[dict[str, Any]] = []
    for row, beneficiary_id, idents in planned:
        if (IdentifierKind.CARD, row.card_number) in taken:
            result.warn(
                row, "a carteirinha já identifica outra conta; a conta antiga não foi criada"
            )
            continue
        account_id = secrets.token_hex(16)
        account_rows.append(
            {
                "id": account_id,
                "beneficiary_id": beneficiary_id,
                "status": AccountStatus.ACTIVE.value,
                "legacy": True,
                "trust_level": TrustLevel.BRONZE.value,
                "password_disabled_at": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        hashed = row.legacy_password_hash
        assert hashed is not None
        credential_rows.append(
            {
                "account_id": account_id,
                "kind": "password",
                "algorithm": algorithm_of(hashed).value,
                "hash": hashed,
                "changed_at": now,
            }
        )
        for kind, value, verified, login in idents:
            if (kind, value) in taken:
                result.warn(row, f"{_KIND_NAMES[kind]} já identifica outra conta; ficou fora desta")
                continue
            taken.add((kind, value))
            identifier_rows.append(
                {
                    "account_id": account_id,
                    "kind": kind.value,
                    "value": value,
                    "source": "registry",
                    "verified_at": now if verified else None,
                    "login_enabled": login,
                    "created_at": now,
                }
            )
    if account_rows:
        await conn.execute(insert(accounts), account_rows)
        await conn.execute(insert(credentials), credential_rows)
    if identifier_rows:
        await conn.execute(insert(identifiers), identifier_rows)
    return [values["id"] for values in account_rows]


_KIND_NAMES = {
    IdentifierKind.CARD: "a carteirinha",
    IdentifierKind.CPF: "o CPF",
    IdentifierKind.EMAIL: "o e-mail",
    IdentifierKind.PHONE: "o telefone",
}


async def _taken_identifiers(
    conn: AsyncConnection, wanted: Iterable[tuple[IdentifierKind, str]]
) -> set[tuple[IdentifierKind, str]]:
    """Which of ``wanted`` already belong to some account (one indexed query per kind)."""
    by_kind: dict[IdentifierKind, set[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, set()).add(value)
    taken: set[tuple[IdentifierKind, str]] = set()
    for kind, values in by_kind.items():
        found = await conn.execute(
            select(identifiers.c.value).where(
                identifiers.c.kind == kind.value, identifiers.c.value.in_(values)
            )
        )
        taken.update((kind, value) for value in found.scalars())
    return taken
