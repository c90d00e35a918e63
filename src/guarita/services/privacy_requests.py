"""Correction (LGPD art. 18 III) and deletion (art. 18 IV, VI) requests: the person files one,
the desk's supervisors see the queue and decide with a reason, the person is told through the
outbox (docs/privacy.md › Pedidos).

A correction that is approved is done by the desk (or, for registry data, by the
organisation's registry, whose next import brings it): the decision's reason says what was
done. A deletion that is approved erases the account at once (``services/erasure.py``); the
message goes to the contacts the account had, read before they are erased.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, FieldErrors, GuaritaError, Message
from guarita.domain.roles import Permission
from guarita.messaging.outbox import enqueue
from guarita.runtime import Runtime
from guarita.services import erasure, guard
from guarita.services.notifications import message_context
from guarita.services.registration import first_name
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.privacy_tables import PrivacyRequest
from guarita.storage.tables import Account, Beneficiary
from guarita.storage.types import utcnow

KINDS = ("correction", "deletion")
DECISIONS = ("approved", "rejected")
MAX_TEXT = 2000


@dataclass
class RequestView:
    id: str
    account_id: str
    kind: str
    status: str
    what: str | None
    reason: str | None
    filed_at: datetime
    decided_at: datetime | None
    decision_reason: str | None
    name: str | None = None  # the desk's queue: whom it is about
    card_number: str | None = None


def _view(row: PrivacyRequest, name: str | None = None, card: str | None = None) -> RequestView:
    return RequestView(row.id, row.account_id, row.kind, row.status, row.what, row.reason,
                       row.filed_at, row.decided_at, row.decision_reason, name, card)


def _text(value: str | None) -> str:
    return " ".join((value or "").split())[:MAX_TEXT] if value else ""


async def file(runtime: Runtime, account_id: str, kind: str, *, what: str | None, reason: str | None,
               context: RequestContext) -> RequestView:
    """Files a request; one open request of each kind at a time."""
    what, reason = _text(what), _text(reason)
    if kind not in KINDS:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="kind", message=Message.PRIVACY_KIND)
    if kind == "correction" and not what:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="what",
                           message=Message.PRIVACY_WHAT_REQUIRED)
    if kind == "deletion" and not reason:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="reason",
                           message=Message.PRIVACY_REASON_REQUIRED)
    if kind == "deletion":
        # Whoever took the account must not be able to have it erased (docs/fraud-guard.md).
        await guard.require_no_hold(runtime, account_id, guard.DELETION_REQUEST)
    async with runtime.db.transaction() as session:
        open_already = (await session.execute(select(func.count()).select_from(PrivacyRequest).where(
            PrivacyRequest.account_id == account_id, PrivacyRequest.kind == kind,
            PrivacyRequest.status == "open"))).scalar_one()
        if open_already:
            raise GuaritaError(ErrorCode.PRIVACY_REQUEST_OPEN)
        row = PrivacyRequest(id=secrets.token_hex(16), account_id=account_id, kind=kind,
                             status="open", what=what or None, reason=reason or None,
                             filed_at=utcnow())
        session.add(row)
        await session.flush()
        await record(session, AuditTag.PRIVACY_REQUEST_FILED, subject=account_id, context=context,
                     details={"request": row.id, "kind": kind})
        return _view(row)


async def of_account(runtime: Runtime, account_id: str) -> list[RequestView]:
    async with runtime.db.read() as session:
        rows = (await session.execute(select(PrivacyRequest).where(
            PrivacyRequest.account_id == account_id).order_by(PrivacyRequest.filed_at.desc())
        )).scalars().all()
    return [_view(r) for r in rows]


async def queue(runtime: Runtime, actor: Actor, *, context: RequestContext | None = None,
                include_decided: bool = False) -> list[RequestView]:
    """The desk's queue, oldest first: open requests (and the last decided ones, if asked)."""
    _require(actor)
    async with runtime.db.read() as session:
        query = (select(PrivacyRequest, Beneficiary.name, Beneficiary.card_number)
                 .outerjoin(Account, Account.id == PrivacyRequest.account_id)
                 .outerjoin(Beneficiary, Beneficiary.id == Account.beneficiary_id))
        if include_decided:
            query = query.order_by(PrivacyRequest.filed_at.desc()).limit(200)
        else:
            query = query.where(PrivacyRequest.status == "open").order_by(PrivacyRequest.filed_at)
        rows = (await session.execute(query)).all()
    return [_view(row, name, card) for row, name, card in rows]


def _require(actor: Actor) -> None:
    if not actor.can(Permission.PRIVACY_REQUESTS):
        raise GuaritaError(ErrorCode.FORBIDDEN)


async def _contacts(session: AsyncSession, account_id: str) -> list[tuple[str, str]]:
    found = []
    for identifier in await accounts_repo.identifiers_of(session, account_id):
        channel = {"email": "email", "phone": "sms"}.get(identifier.kind)
        if channel and identifier.verified_at is not None:
            found.append((channel, identifier.value))
    return found


async def decide(runtime: Runtime, actor: Actor, request_id: str, *, decision: str, reason: str | None,
                 context: RequestContext) -> RequestView:
    """A supervisor approves or rejects, with a reason; the person is told. An approved
    deletion erases the account in the same transaction."""
    _require(actor)
    reason = _text(reason)
    problems = []
    if decision not in DECISIONS:
        problems.append(GuaritaError(ErrorCode.VALIDATION_ERROR, field="decision",
                                     message=Message.PRIVACY_DECISION_REQUIRED))
    if not reason:
        problems.append(GuaritaError(ErrorCode.VALIDATION_ERROR, field="decision_reason",
                                     message=Message.PRIVACY_DECISION_REASON))
    if problems:
        raise FieldErrors(problems)
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = await session.get(PrivacyRequest, request_id)
        if row is None:
            raise GuaritaError(ErrorCode.NOT_FOUND)
        account = await session.get(Account, row.account_id)
        if row.status != "open" or account is None:
            raise GuaritaError(ErrorCode.PRIVACY_REQUEST_DECIDED)
        # Of two supervisors deciding at once, one wins: the other finds it decided.
        taken = await session.execute(
            update(PrivacyRequest).where(PrivacyRequest.id == row.id, PrivacyRequest.status == "open")
            .values(status=decision, decided_at=now, decided_by=actor.audit_id,
                    decision_reason=reason))
        if taken.rowcount != 1:
            raise GuaritaError(ErrorCode.PRIVACY_REQUEST_DECIDED)
        await session.refresh(row)
        beneficiary = await accounts_repo.beneficiary_of(session, account)
        contacts = await _contacts(session, account.id)
        await record(session, AuditTag.PRIVACY_REQUEST_DECIDED, subject=account.id, context=context,
                     details={"request": row.id, "kind": row.kind, "decision": decision})
        erased = row.kind == "deletion" and decision == "approved"
        if erased:
            await erasure.erase_in(session, account.id, by=actor.audit_id, context=context,
                                   request_id=row.id)
        words = message_context(
            runtime.settings, first_name=first_name(beneficiary.name if beneficiary else None),
            kind=row.kind, decision=decision, reason=reason, erased=erased,
            when=runtime.settings.local_time(now))
        for channel, to in contacts:
            # Not linked to the account: after an erasure nothing may point back to it.
            await enqueue(session, channel=channel, to=to, template="privacy_request_decided",
                          context=words, account_id=None if erased else account.id)
        await session.flush()
        return _view(row)
