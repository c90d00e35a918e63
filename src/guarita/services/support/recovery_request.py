"""The desk starts a recovery for a person (SECURITY.md › Recovery: agents can start a recovery
but never see or set a password). The code goes to a verified contact chosen by its masked form;
the person goes on with the link in the message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from guarita.domain.accounts import CONTACT_KINDS, Channel
from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.runtime import Runtime
from guarita.services import recovery
from guarita.services.support.action import DeskAction, audit_context
from guarita.services.support.masking import mask
from guarita.services.support.reasons import Reason
from guarita.storage.audit import RequestContext
from guarita.storage.tables import AccountIdentifier


@dataclass
class RecoveryRequested:
    destination: str
    channel: str
    expires_at: datetime


async def start_recovery(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    identifier_id: int,
    reason: Reason,
    context: RequestContext,
) -> RecoveryRequested:
    """A recovery code goes to the verified contact chosen by its masked form; the person goes on
    with the link in the message. The agent sees only the masked destination."""
    tag = AuditTag.SUPPORT_RECOVERY_REQUESTED
    async with DeskAction(runtime, actor, beneficiary_id, tag, reason, context) as action:
        async with action.opened() as person:
            account = person.account
            contact = await person.session.get(AccountIdentifier, identifier_id)
            if (
                contact is None
                or contact.account_id != account.id
                or contact.verified_at is None
                or contact.kind not in CONTACT_KINDS
            ):
                raise GuaritaError(
                    ErrorCode.METHOD_UNAVAILABLE,
                    field="identifier_id",
                    message=Message.CHOOSE_VERIFIED_CONTACT,
                )
            destination = mask(contact.kind, contact.value)
            channel = Channel.for_kind(contact.kind)
        started = await recovery.start_for_account(runtime, account.id, identifier_id, audit_context(actor, context))
        async with runtime.db.transaction() as session:
            await action.audit(session, account.id, outcome="started", channel=channel, destination=destination)
    return RecoveryRequested(destination, channel, started.expires_at)
