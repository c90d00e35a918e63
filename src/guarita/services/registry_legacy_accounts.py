"""Legacy accounts from the registry's ``legacy_password_hash`` (DESIGN.md › Legacy accounts;
docs/registry-import.md › Legacy accounts).

- a new row with a hash gives that beneficiary a *legacy account* (card login only) in the same
  transaction as the row;
- later imports replace that password only when the registry's hash changed *and* the account
  still holds the hash of the previous import: once the person signed in (the hash was upgraded
  to argon2id) or changed it, Guarita's credential wins. An account the person created through
  Cadastro is never touched;
- a CPF, e-mail or phone that already identifies another account is left off the new legacy
  account (identifiers are unique) and noted as a warning on that row.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from guarita.domain.accounts import AccountStatus, TrustLevel, initial_identifiers
from guarita.domain.hashing import algorithm_of
from guarita.domain.identifiers import IdentifierKind
from guarita.services.registry_report import BatchResult
from guarita.services.registry_rows import RegistryRow
from guarita.services.registry_upsert import StoredBeneficiary
from guarita.storage.tables import Account, AccountIdentifier, Credential

accounts = Account.__table__
identifiers = AccountIdentifier.__table__
credentials = Credential.__table__


async def refresh_legacy_passwords(
    conn: AsyncConnection,
    changed: list[tuple[RegistryRow, StoredBeneficiary]],
    result: BatchResult,
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


async def create_legacy_accounts(
    conn: AsyncConnection,
    wanted: list[tuple[RegistryRow, int]],
    result: BatchResult,
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
