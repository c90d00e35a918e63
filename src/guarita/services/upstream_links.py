"""Which provider subject was confirmed as which account (``docs/upstreams.md`` › Links).

A link is written only after the provider's CPF matched the account's (OpenID Connect Core §5.7:
the pair issuer + ``sub`` is the stable identifier; ``sub`` alone is not unique). A subject
already linked to another account is never moved: the event is audited and the link stays.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.audit_tags import AuditTag
from guarita.runtime import Runtime
from guarita.storage.audit import RequestContext, record
from guarita.storage.types import utcnow
from guarita.storage.upstream_tables import UpstreamLink, UpstreamProvider


async def confirm(session: AsyncSession, account_id: str, provider_id: str, issuer: str,
                  subject: str, context: RequestContext) -> bool:
    """Keeps the link (issuer, subject) → account; False when the subject is another's."""
    now = utcnow()
    found = (await session.execute(select(UpstreamLink).where(
        UpstreamLink.issuer == issuer, UpstreamLink.subject == subject))).scalar_one_or_none()
    if found is not None:
        if found.account_id != account_id:
            await record(session, AuditTag.UPSTREAM_FAILED, subject=account_id, context=context,
                         details={"provider": provider_id, "reason": "subject_linked_elsewhere"})
            return False
        found.last_used_at = now
        return True
    try:
        async with session.begin_nested():
            session.add(UpstreamLink(account_id=account_id, provider_id=provider_id,
                                     issuer=issuer, subject=subject[:255], linked_at=now,
                                     last_used_at=now))
            await session.flush()
    except IntegrityError:
        return False  # the same subject linked at the same instant by another request
    await record(session, AuditTag.UPSTREAM_LINKED, subject=account_id, context=context,
                 details={"provider": provider_id})
    return True


async def account_for(session: AsyncSession, issuer: str, subject: str) -> str | None:
    return (await session.execute(select(UpstreamLink.account_id).where(
        UpstreamLink.issuer == issuer, UpstreamLink.subject == subject))).scalar_one_or_none()


async def of_account(runtime: Runtime, account_id: str) -> list[dict[str, Any]]:
    """The account's links, for Minha conta: the provider's name and when, never the ``sub``."""
    async with runtime.db.read() as session:
        rows = (await session.execute(
            select(UpstreamLink, UpstreamProvider.name, UpstreamProvider.kind)
            .join(UpstreamProvider, UpstreamProvider.id == UpstreamLink.provider_id)
            .where(UpstreamLink.account_id == account_id)
            .order_by(UpstreamLink.linked_at))).all()
    return [{"id": link.id, "provider": name, "kind": kind, "linked_at": link.linked_at,
             "last_used_at": link.last_used_at} for link, name, kind in rows]


async def unlink(runtime: Runtime, account_id: str, link_id: int,
                 context: RequestContext) -> bool:
    """Desvincular: the person removes one of their own links."""
    async with runtime.db.transaction() as session:
        gone = await session.execute(delete(UpstreamLink).where(
            UpstreamLink.id == link_id, UpstreamLink.account_id == account_id)
            .returning(UpstreamLink.provider_id))
        provider = gone.scalar_one_or_none()
        if provider is None:
            return False
        await record(session, AuditTag.UPSTREAM_UNLINKED, subject=account_id, context=context,
                     details={"provider": provider})
        return True
