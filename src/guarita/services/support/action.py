"""The one shape of a desk action on a person (docs/support-desk.md › What an agent does).

Every action needs a live grant (a passing caller check by this actor for this person) and
writes one audit event with the agent, the subject, the reason and the outcome; an action that
does not happen writes one too, with ``outcome: refused`` and the error code (SECURITY.md › Data:
every security-relevant event lands in the audit log). :class:`DeskAction` does that once for
every action::

    action = DeskAction(runtime, actor, person_id, AuditTag.SUPPORT_UNLOCKED, reason, context)
    async with action, action.opened() as person:  # grant checked, one transaction
        ...                                          # the change
        await action.audit(person.session, person.subject, outcome="unlocked")

A :class:`GuaritaError` leaving the block is recorded as the refusal and raised again, for the
edge (console or API) to map to HTTP. An action of several steps (a message to send between two
transactions) keeps ``async with action:`` around them all and opens the person in the first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.runtime import Runtime
from guarita.services.support.grants import grant_of, person_of
from guarita.services.support.masking import subject_of
from guarita.services.support.reasons import Reason
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Account, Beneficiary
from guarita.storage.types import utcnow


def audit_context(actor: Actor, context: RequestContext) -> RequestContext:
    """The request's context with the desk actor as the audit actor."""
    return RequestContext(ip=context.ip, user_agent=context.user_agent, actor=actor.audit_id)


def delegated(actor: Actor, context: RequestContext) -> RequestContext:
    """The context handed to the contacts and recovery services, without the IP.

    Those services limit code requests per client IP (30 in 5 minutes), a guard against
    anonymous abuse; a desk behind one NAT address, or the CRM calling from one server, would
    hit it within minutes. Desk actions are gated instead by an authenticated actor and a
    passing caller check per person, and the desk's own audit events keep the IP.
    """
    return RequestContext(ip=None, user_agent=context.user_agent, actor=actor.audit_id)


@dataclass
class OpenedPerson:
    """A person the actor holds a grant for, inside one transaction."""

    session: AsyncSession
    beneficiary: Beneficiary
    account: Account | None

    @property
    def subject(self) -> str:
        return subject_of(self.beneficiary.id, self.account.id if self.account else None)


RefusalHook = Callable[[AsyncSession, GuaritaError], Awaitable[None]]


class DeskAction:
    """One action of ``actor`` on the person ``beneficiary_id``, audited under ``tag``.

    ``refusal_tag`` (default ``tag``), ``refusal_details`` and ``refusal_subject`` shape the
    refusal event; ``on_refusal`` runs in the refusal's transaction (to close what the failure
    ended). Without a known subject, the refusal is filed under the person, looked up again —
    and skipped when there is no such person to file it under.
    """

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        beneficiary_id: int,
        tag: AuditTag,
        reason: Reason,
        context: RequestContext,
        *,
        refusal_tag: AuditTag | None = None,
        refusal_details: dict[str, Any] | None = None,
        refusal_subject: str | None = None,
        on_refusal: RefusalHook | None = None,
    ) -> None:
        self.runtime = runtime
        self.actor = actor
        self.beneficiary_id = beneficiary_id
        self.tag = tag
        self.reason = reason
        self.context = context
        self.audit_context = audit_context(actor, context)
        self.now = utcnow()
        self.refusal_tag = refusal_tag or tag
        self.refusal_details = refusal_details or {}
        self.refusal_subject = refusal_subject
        self.on_refusal = on_refusal

    async def __aenter__(self) -> DeskAction:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if isinstance(exc, GuaritaError):
            await self._record_refusal(exc)
        return False  # the error goes on to the edge

    @asynccontextmanager
    async def opened(self, *, needs_account: bool = True) -> AsyncIterator[OpenedPerson]:
        """A transaction on the person, once this actor's grant is checked."""
        async with self.runtime.db.transaction() as session:
            beneficiary, account = await person_of(session, self.beneficiary_id)
            if await grant_of(session, self.actor, beneficiary.id, self.now) is None:
                raise GuaritaError(ErrorCode.CALLER_CHECK_REQUIRED)
            if needs_account and account is None:
                raise GuaritaError(ErrorCode.NO_ACCOUNT)
            yield OpenedPerson(session, beneficiary, account)

    async def audit(self, session: AsyncSession, subject: str, *, outcome: str, **details: Any) -> None:
        """The action's event: who, why, what came of it, and the action's own details."""
        await record(
            session,
            self.tag,
            subject=subject,
            context=self.audit_context,
            details={
                **self.actor.audit_details(),
                **self.reason.details(),
                "outcome": outcome,
                **details,
            },
        )

    async def _record_refusal(self, error: GuaritaError) -> None:
        subject = self.refusal_subject
        if subject is None and error.code is ErrorCode.NOT_FOUND:
            return
        async with self.runtime.db.transaction() as session:
            if subject is None:
                subject = await self._subject(session)
                if subject is None:
                    return
            if self.on_refusal is not None:
                await self.on_refusal(session, error)
            await record(
                session,
                self.refusal_tag,
                subject=subject,
                context=self.audit_context,
                details={
                    **self.actor.audit_details(),
                    **self.reason.details(),
                    **self.refusal_details,
                    "outcome": "refused",
                    "error": str(error.code),
                },
            )

    async def _subject(self, session: AsyncSession) -> str | None:
        beneficiary = await session.get(Beneficiary, self.beneficiary_id)
        if beneficiary is None:
            return None
        account_id = (
            await session.execute(select(Account.id).where(Account.beneficiary_id == self.beneficiary_id))
        ).scalar_one_or_none()
        return subject_of(self.beneficiary_id, account_id)
