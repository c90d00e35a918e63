"""Consent of a person to a third-party client (OpenID Connect Core 1.0 §3.1.2.4).

Remembered per person and client with the scopes allowed; a later request for the same or fewer
scopes needs no new question, a request for more asks again. Revoking the consent ("Aplicativos
conectados") also revokes every grant of that client for that person. First-party clients (the
organisation's own portal and app) never ask: the person already trusts the organisation with
that data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.storage.oidc_tables import OidcConsent
from guarita.storage.types import utcnow


async def granted_scopes(session: AsyncSession, account_id: str, client_id: str) -> set[str]:
    row = await session.get(OidcConsent, (account_id, client_id))
    return set(row.scopes or ()) if row is not None else set()


async def covers(session: AsyncSession, account_id: str, client_id: str, scopes: list[str]) -> bool:
    return set(scopes) <= await granted_scopes(session, account_id, client_id)


async def grant(
    session: AsyncSession,
    account_id: str,
    client_id: str,
    scopes: list[str],
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    row = await session.get(OidcConsent, (account_id, client_id))
    if row is None:
        session.add(
            OidcConsent(
                account_id=account_id,
                client_id=client_id,
                scopes=sorted(set(scopes)),
                granted_at=now,
                updated_at=now,
            )
        )
    else:
        row.scopes = sorted(set(row.scopes or ()) | set(scopes))
        row.updated_at = now


async def revoke(session: AsyncSession, account_id: str, client_id: str) -> bool:
    result = await session.execute(
        delete(OidcConsent).where(
            OidcConsent.account_id == account_id, OidcConsent.client_id == client_id
        )
    )
    return bool(result.rowcount)


async def of_account(session: AsyncSession, account_id: str) -> list[OidcConsent]:
    rows = await session.execute(
        select(OidcConsent)
        .where(OidcConsent.account_id == account_id)
        .order_by(OidcConsent.granted_at)
    )
    return list(rows.scalars())
