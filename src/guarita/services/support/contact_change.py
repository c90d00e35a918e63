"""The desk registers or replaces a person's e-mail or phone (SECURITY.md › Recovery: a contact is
trusted only once a code sent to it comes back; agents never see the code).

A code goes to the new contact through ``services/contacts.py``; the caller reads it back and
only then is the contact saved. The contact-verification flow's handle stays sealed server-side
in ``SupportContactChange.flow_ref``, bound to the change, so the desk never holds it.

A caller check alone proves only knowledge that leaks (CPF, birth date). So when the account
already has a verified contact, the change also needs a code sent to one of those contacts and
read back (``proof_ref``), or a supervisor's in-person document check of the last hours; only
an account without any verified contact gets its first one on the caller check, and then the
new contact waits out the cooling-off before it can receive recovery codes
(``domain/contact_trust.py``). Every verified contact is told of the change at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.accounts import CONTACT_KINDS
from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.contact_trust import ContactProof
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.methods import totp
from guarita.runtime import Runtime
from guarita.services import contacts, guard, trust
from guarita.services.support.action import DeskAction, audit_context, delegated
from guarita.services.support.history import PendingChange
from guarita.services.support.person_view import IdentifierItem, identifier_item
from guarita.services.support.reasons import Reason
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext
from guarita.storage.support_tables import SupportContactChange, SupportIdentityCheck
from guarita.storage.types import utcnow

# Errors after which a contact registration cannot go on (a wrong code can be typed again).
_CHANGE_OVER = {
    ErrorCode.TOO_MANY_ATTEMPTS,
    ErrorCode.FLOW_EXPIRED,
    ErrorCode.FLOW_STATE_INVALID,
    ErrorCode.CONTACT_IN_USE,
}


@dataclass
class ContactChangeStarted:
    id: str
    kind: str
    destination: str
    expires_at: datetime
    proof: str = ContactProof.CALLER_CHECK
    proof_destination: str | None = None  # masked: the existing contact that got a code


async def _proof_needed(
    session: AsyncSession, runtime: Runtime, account_id: str, now: datetime
) -> str:
    """What must prove this change besides the caller check (module docstring)."""
    known = await accounts_repo.identifiers_of(session, account_id)
    if not any(i.kind in CONTACT_KINDS and i.verified_at is not None for i in known):
        return ContactProof.CALLER_CHECK
    since = now - timedelta(hours=runtime.settings.support.in_person_check_hours)
    checked = (
        await session.execute(
            select(SupportIdentityCheck.id).where(
                SupportIdentityCheck.account_id == account_id,
                SupportIdentityCheck.created_at >= since,
            ).limit(1)
        )
    ).first()
    return ContactProof.IN_PERSON if checked else ContactProof.EXISTING_CONTACT


def _binding(change_id: str) -> str:
    return f"contact-change:{change_id}"


async def start_contact_change(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    kind: str,
    value: str,
    reason: Reason,
    context: RequestContext,
    proof_contact_id: int | None = None,
) -> ContactChangeStarted:
    """A code goes to the new e-mail or phone; it is saved only when the code comes back.

    When the account already has a verified contact (and no recent in-person check), a second
    code goes to that contact (``proof_contact_id``, else the first one); both must come back.
    """
    tag = AuditTag.SUPPORT_CONTACT_CODE_SENT
    refused = {"kind": kind if kind in CONTACT_KINDS else None}
    async with DeskAction(runtime, actor, beneficiary_id, tag, reason, context, refusal_details=refused) as action:
        now = action.now
        kind_, normalized = contacts.normalize_contact(kind, value)
        async with action.opened() as person:
            beneficiary, account = person.beneficiary, person.account
            proof = await _proof_needed(person.session, runtime, account.id, now)
        if proof != ContactProof.IN_PERSON:
            # Held accounts: only a supervisor's in-person check lets the desk change a contact.
            await guard.require_no_hold(runtime, account.id, guard.CONTACT_CHANGE)
        proven_by = None
        if proof == ContactProof.EXISTING_CONTACT:
            proven_by = await contacts.start_proof(
                runtime, account.id, proof_contact_id, delegated(actor, context)
            )
        started = await contacts.start_verification(
            runtime,
            account.id,
            kind_.value,
            normalized,
            source="support",
            context=delegated(actor, context),
            proof=proof,
        )
        change_id = secrets.token_hex(16)
        minutes = runtime.settings.support.contact_change_minutes
        expires_at = min(started.expires_at, now + timedelta(minutes=minutes))
        async with runtime.db.transaction() as session:
            session.add(
                SupportContactChange(
                    id=change_id,
                    actor=actor.audit_id,
                    beneficiary_id=beneficiary.id,
                    account_id=account.id,
                    kind=kind_.value,
                    destination=started.destination,
                    flow_ref=totp.seal(
                        runtime.settings.secret(), started.id, bound_to=_binding(change_id)
                    ),
                    proof=proof,
                    proof_ref=totp.seal(
                        runtime.settings.secret(), proven_by.id,
                        bound_to=_binding(change_id) + ":proof",
                    ) if proven_by else None,
                    proof_destination=proven_by.destination if proven_by else None,
                    reason=reason.code,
                    reason_text=reason.text,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            await action.audit(
                session,
                account.id,
                outcome="code_sent",
                kind=kind_.value,
                destination=started.destination,
                change_id=change_id,
                proof=proof,
                proof_destination=proven_by.destination if proven_by else None,
            )
    return ContactChangeStarted(
        change_id, kind_.value, started.destination, expires_at, proof,
        proven_by.destination if proven_by else None,
    )


async def pending_change(runtime: Runtime, actor: Actor, beneficiary_id: int, change_id: str) -> PendingChange:
    async with runtime.db.transaction() as session:
        row = await _change(session, actor, beneficiary_id, change_id, utcnow())
        return PendingChange(
            row.id, row.kind, row.destination, row.expires_at, row.proof_destination
        )


async def _change(
    session: AsyncSession, actor: Actor, beneficiary_id: int, change_id: str, now: datetime
) -> SupportContactChange:
    row = await session.get(SupportContactChange, (change_id or "")[:32])
    # Someone else's change, a finished one and an expired one all look alike.
    if (
        row is None
        or row.actor != actor.audit_id
        or row.beneficiary_id != beneficiary_id
        or row.completed_at is not None
        or row.expires_at <= now
    ):
        raise GuaritaError(
            ErrorCode.FLOW_EXPIRED,
            message=Message.CONTACT_CHANGE_OVER,
        )
    return row


async def _close(session: AsyncSession, change_id: str, now: datetime) -> None:
    await session.execute(
        SupportContactChange.__table__.update().where(SupportContactChange.id == change_id).values(completed_at=now)
    )


async def confirm_contact_change(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    change_id: str,
    *,
    code: str,
    context: RequestContext,
    proof_code: str | None = None,
) -> IdentifierItem:
    """The code the caller read back: on success the contact is saved as verified (and every
    contact the account had is told about it by the contacts service). A change that needs an
    existing contact's proof needs ``proof_code`` too, checked first."""
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = await _change(session, actor, beneficiary_id, change_id, now)
        flow_ref = totp.unseal(runtime.settings.secret(), row.flow_ref, bound_to=_binding(row.id))
        proof_ref = (
            totp.unseal(runtime.settings.secret(), row.proof_ref,
                        bound_to=_binding(row.id) + ":proof")
            if row.proof_ref else None
        )
        reason = Reason(row.reason, row.reason_text)
        account_id = row.account_id
        proof = row.proof
        details = {"kind": row.kind, "destination": row.destination, "change_id": change_id}

    async def close_if_over(session: AsyncSession, error: GuaritaError) -> None:
        if error.code in _CHANGE_OVER:
            # Too many wrong codes, an expired flow: this registration is over.
            await _close(session, change_id, now)

    action = DeskAction(
        runtime,
        actor,
        beneficiary_id,
        AuditTag.SUPPORT_CONTACT_CONFIRMED,
        reason,
        context,
        refusal_tag=AuditTag.SUPPORT_CONTACT_CODE_FAILED,
        refusal_details=details,
        refusal_subject=account_id,
        on_refusal=close_if_over,
    )
    async with action:
        if proof_ref is not None:
            if not (proof_code or "").strip():
                raise GuaritaError(
                    ErrorCode.CONTACT_PROOF_REQUIRED, field="proof_code",
                    message=Message.TYPE_EXISTING_CONTACT_CODE,
                )
            await contacts.confirm_proof(runtime, proof_ref, proof_code, account_id)
        saved = await contacts.confirm_verification(
            runtime, flow_ref, code, delegated(actor, context), account_id=account_id, desk=True
        )
    async with runtime.db.transaction() as session:
        await _close(session, change_id, now)
        await action.audit(session, account_id, outcome="verified", **details)
        cap = runtime.settings.trust.desk_contact_change_lowers_to
        if cap and proof != ContactProof.IN_PERSON:
            # How takeovers start: a new way to reach the account without anyone seeing the
            # person. The level is capped until new strong evidence (docs/trust-levels.md).
            await trust.lower(session, runtime.settings, account_id, cap,
                              reason="desk_contact_change", recorded_by=actor.audit_id,
                              context=audit_context(actor, context), now=now)
        if proof != ContactProof.IN_PERSON:
            # Nobody saw the person: hold what could lock the owner out (docs/fraud-guard.md).
            await guard.place(session, runtime, account_id, guard.DESK_CONTACT,
                              context=audit_context(actor, context), now=now)
    return identifier_item(saved, unmasked=False)
