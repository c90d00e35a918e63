"""What happened to a person, as the desk may read it once the person is opened: the last
sign-ins, the last messages (channel, masked destination, status — never the text, which may
carry a code), the audit trail with actors by name, and this actor's pending contact changes
(docs/support-desk.md › What an agent does)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.accounts import Channel
from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.identifiers import IdentifierKind
from guarita.services.account import LoginEventView, device_of, device_parts
from guarita.services.support import labels
from guarita.services.support.masking import mask
from guarita.storage.support_tables import StaffAccount, SupportApiToken, SupportContactChange
from guarita.storage.tables import AuditEvent, OutboxMessage

# A sign-in reads the same at the desk as in the person's own history (``services/account.py``).
LoginItem = LoginEventView


@dataclass
class MessageItem:
    at: datetime
    channel: str
    destination: str
    template: str
    template_label: str
    status: str
    status_label: str


@dataclass
class AuditItem:
    at: datetime
    tag: str
    label: str
    actor: str
    outcome: str | None
    reason: str | None


@dataclass
class PendingChange:
    id: str
    kind: str
    destination: str
    expires_at: datetime
    proof_destination: str | None = None  # an existing contact that got a code too


async def logins(session: AsyncSession, account_id: str) -> list[LoginItem]:
    events = (
        (
            await session.execute(
                select(AuditEvent)
                .where(
                    AuditEvent.subject == account_id,
                    AuditEvent.tag.in_([AuditTag.LOGIN_SUCCEEDED.value, AuditTag.LOGIN_FAILED.value]),
                )
                .order_by(AuditEvent.id.desc())
                .limit(10)
            )
        )
        .scalars()
        .all()
    )
    return [
        LoginItem(
            e.created_at,
            e.tag == AuditTag.LOGIN_SUCCEEDED.value,
            e.ip,
            device_of(e.user_agent),
            (e.details or {}).get("reason"),
            (e.details or {}).get("kind"),
            *device_parts(e.user_agent),  # the page names the device in its own language
        )
        for e in events
    ]


async def messages(session: AsyncSession, account_id: str) -> list[MessageItem]:
    """Channel, masked destination and status; never the text (it may carry a code)."""
    rows = (
        await session.execute(
            select(
                OutboxMessage.created_at,
                OutboxMessage.channel,
                OutboxMessage.to,
                OutboxMessage.template,
                OutboxMessage.status,
            )
            .where(OutboxMessage.account_id == account_id)
            .order_by(OutboxMessage.id.desc())
            .limit(10)
        )
    ).all()
    return [
        MessageItem(
            at,
            channel,
            mask(IdentifierKind.EMAIL if channel == Channel.EMAIL else IdentifierKind.PHONE, to),
            template,
            labels.TEMPLATES.get(template, template),
            status,
            labels.MESSAGE_STATUS.get(status, status),
        )
        for at, channel, to, template, status in rows
    ]


async def audit_trail(session: AsyncSession, beneficiary_id: int, account_id: str | None) -> list[AuditItem]:
    subjects = [f"beneficiary:{beneficiary_id}"] + ([account_id] if account_id else [])
    events = (
        (
            await session.execute(
                select(AuditEvent).where(AuditEvent.subject.in_(subjects)).order_by(AuditEvent.id.desc()).limit(30)
            )
        )
        .scalars()
        .all()
    )
    names = await actor_names(session, {e.actor for e in events if e.actor})
    return [
        AuditItem(
            at=e.created_at,
            tag=e.tag,
            label=labels.tag_label(e.tag),
            actor=names.get(e.actor, "a própria pessoa" if e.actor is None else e.actor),
            outcome=(e.details or {}).get("outcome"),
            reason=labels.REASONS.get((e.details or {}).get("reason", ""), None),
        )
        for e in events
    ]


async def actor_names(session: AsyncSession, actors: set[str]) -> dict[str, str]:
    """``staff:3`` → ``Ana (atendente)``; ``token:2`` → ``API: CRM``."""
    staff_ids = [int(a.split(":", 1)[1]) for a in actors if a.startswith("staff:") and a[6:].isdigit()]
    token_ids = [int(a.split(":", 1)[1]) for a in actors if a.startswith("token:") and a[6:].isdigit()]
    names: dict[str, str] = {}
    if staff_ids:
        for row_id, name in (
            await session.execute(select(StaffAccount.id, StaffAccount.name).where(StaffAccount.id.in_(staff_ids)))
        ).all():
            names[f"staff:{row_id}"] = name
    if token_ids:
        for row_id, name in (
            await session.execute(
                select(SupportApiToken.id, SupportApiToken.name).where(SupportApiToken.id.in_(token_ids))
            )
        ).all():
            names[f"token:{row_id}"] = f"API: {name}"
    return names


async def pending_changes(
    session: AsyncSession, actor: Actor, beneficiary_id: int, now: datetime
) -> list[PendingChange]:
    rows = (
        (
            await session.execute(
                select(SupportContactChange)
                .where(
                    SupportContactChange.actor == actor.audit_id,
                    SupportContactChange.beneficiary_id == beneficiary_id,
                    SupportContactChange.completed_at.is_(None),
                    SupportContactChange.expires_at > now,
                )
                .order_by(SupportContactChange.created_at.desc())
            )
        )
        .scalars()
        .all()
    )
    return [
        PendingChange(r.id, r.kind, r.destination, r.expires_at, r.proof_destination)
        for r in rows
    ]
