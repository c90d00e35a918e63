"""Queries about accounts, their identifiers and credentials (one place, no SQL in services)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.identifiers import Identifier, IdentifierKind
from guarita.storage.tables import Account, AccountIdentifier, Beneficiary, Credential
from guarita.storage.types import utcnow


def new_account_id() -> str:
    """128 random bits; also the OpenID ``sub`` basis, never derived from the CPF."""
    return secrets.token_hex(16)


async def find_identifier(
    session: AsyncSession, candidates: Iterable[Identifier]
) -> AccountIdentifier | None:
    """The first stored identifier among ``candidates`` (ordered most likely first).

    Every candidate is looked up even after a match, so that a known identifier is not
    answered sooner than an unknown one (SECURITY.md › Account enumeration: same timing)."""
    first: AccountIdentifier | None = None
    for candidate in candidates:
        found = (
            await session.execute(
                select(AccountIdentifier).where(
                    AccountIdentifier.kind == candidate.kind.value,
                    AccountIdentifier.value == candidate.value,
                )
            )
        ).scalar_one_or_none()
        first = first or found
    return first


async def sign_in_record(
    session: AsyncSession, candidates: Iterable[Identifier]
) -> tuple[AccountIdentifier, Account, Credential | None] | None:
    """Identifier, account and password of the first matching candidate, in one query each
    (the hot path of sign-in: one round trip instead of three)."""
    for candidate in candidates:
        row = (
            await session.execute(
                select(AccountIdentifier, Account, Credential)
                .join(Account, Account.id == AccountIdentifier.account_id)
                .outerjoin(Credential, (Credential.account_id == Account.id) & (Credential.kind == "password"))
                .where(AccountIdentifier.kind == candidate.kind.value,
                       AccountIdentifier.value == candidate.value)
            )
        ).first()
        if row is not None:
            return row[0], row[1], row[2]
    return None


async def identifiers_of(session: AsyncSession, account_id: str) -> list[AccountIdentifier]:
    return list(
        (
            await session.execute(
                select(AccountIdentifier)
                .where(AccountIdentifier.account_id == account_id)
                .order_by(AccountIdentifier.id)
            )
        ).scalars()
    )


async def identifier_owner(session: AsyncSession, kind: IdentifierKind, value: str) -> str | None:
    return (
        await session.execute(
            select(AccountIdentifier.account_id).where(
                AccountIdentifier.kind == kind.value, AccountIdentifier.value == value
            )
        )
    ).scalar_one_or_none()


async def password_of(session: AsyncSession, account_id: str) -> Credential | None:
    return (
        await session.execute(
            select(Credential).where(Credential.account_id == account_id, Credential.kind == "password")
        )
    ).scalar_one_or_none()


async def set_password(
    session: AsyncSession, account_id: str, hashed: str, algorithm: str = "argon2id",
    at: datetime | None = None, *, long_enough: bool | None = None,
) -> None:
    """Stores a new verifier. ``long_enough`` records whether the password met the length of a
    password that is the only factor (15), so that removing the last second factor knows whether
    to ask for a longer one (SECURITY.md › Passwords) without keeping the length itself; None
    (a rehash) keeps what was known."""
    credential = await password_of(session, account_id)
    if credential is None:
        credential = Credential(account_id=account_id, kind="password", data={})
        session.add(credential)
    credential.hash = hashed
    credential.algorithm = algorithm
    credential.changed_at = at or utcnow()
    if long_enough is not None:
        credential.data = {**(credential.data or {}), "single_factor_length": long_enough}
    await session.flush()


async def end_app_tokens(session: AsyncSession, account_id: str, at: datetime) -> None:
    """Every app's grant made before ``at`` stops working (``Account.tokens_valid_after``)."""
    await session.execute(
        update(Account).where(Account.id == account_id).values(tokens_valid_after=at)
    )


def tokens_ended(tokens_valid_after: datetime | None, grant_created_at: datetime) -> bool:
    """Whether a grant made at ``grant_created_at`` was ended by a later sign-out everywhere."""
    return tokens_valid_after is not None and grant_created_at < tokens_valid_after


async def account(session: AsyncSession, account_id: str) -> Account | None:
    return await session.get(Account, account_id)


async def beneficiary_of(session: AsyncSession, acct: Account) -> Beneficiary | None:
    if acct.beneficiary_id is None:
        return None
    return await session.get(Beneficiary, acct.beneficiary_id)


async def enable_identifier(session: AsyncSession, identifier_id: int, *, login: bool | None = None,
                            verified: bool = True) -> None:
    values: dict = {}
    if verified:
        values["verified_at"] = utcnow()
    if login is not None:
        values["login_enabled"] = login
    await session.execute(update(AccountIdentifier).where(AccountIdentifier.id == identifier_id).values(**values))
