"""The desk and a person's reference face (docs/face.md › Reference photos).

- A supervisor captures (camera or upload) the reference photo of a person at an agency, only
  after recording an in-person document check of that person in the last hours
  (``identity_check.py``): the photo is then as trustworthy as the document. Audited
  (``support.face.captured``); the template is sealed, the photo is not kept unless
  ``GUARITA_FACE__KEEP_PHOTOS``.
- Any desk member holding a grant deletes it on the person's request (LGPD art. 18 VI);
  audited (``support.face.deleted``).
- Requests for a human review of an automated refusal (LGPD art. 20) are listed for the desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.methods.face import Source
from guarita.runtime import Runtime
from guarita.services import face_references
from guarita.services.support.action import DeskAction
from guarita.services.support.reasons import Reason
from guarita.storage.audit import RequestContext
from guarita.storage.support_tables import SupportIdentityCheck
from guarita.storage.tables import Account, AuditEvent, FaceReference
from guarita.storage.types import utcnow

# The in-person document check must be this recent for the photo taken after it.
CHECK_HOURS = 4


async def capture_reference(runtime: Runtime, actor: Actor, beneficiary_id: int, photo: bytes,
                            reason: Reason, context: RequestContext) -> str:
    """Supervisor: the person's photo, taken after an in-person document check. Returns
    ``created`` or ``replaced``; ``face_quality`` when the photo has no usable face."""
    tag = AuditTag.SUPPORT_FACE_CAPTURED
    async with DeskAction(runtime, actor, beneficiary_id, tag, reason, context) as action:
        # Computed before the transaction (no lock held for the face work), inside the action
        # so a photo without a usable face is audited as a refusal too.
        descriptor = await face_references.template_from_photo(runtime, photo)
        async with action.opened() as person:
            since = action.now - timedelta(hours=CHECK_HOURS)
            checked = (await person.session.execute(
                select(SupportIdentityCheck.id).where(
                    SupportIdentityCheck.account_id == person.account.id,
                    SupportIdentityCheck.created_at >= since).limit(1))).first()
            if checked is None:
                raise GuaritaError(ErrorCode.FLOW_STATE_INVALID, message=(
                    "Antes da foto, registre a conferência presencial do documento com foto "
                    "desta pessoa."))
            existed = await face_references.has_reference(person.session, person.beneficiary.id)
            await face_references.put_reference(person.session, runtime, person.beneficiary.id,
                                                descriptor, photo, Source.IN_PERSON,
                                                captured_by=actor.audit_id)
            outcome = "replaced" if existed else "created"
            await action.audit(person.session, person.subject, outcome=outcome)
    return outcome


async def delete_reference(runtime: Runtime, actor: Actor, beneficiary_id: int, reason: Reason,
                           context: RequestContext) -> str:
    tag = AuditTag.SUPPORT_FACE_DELETED
    async with DeskAction(runtime, actor, beneficiary_id, tag, reason, context) as action:
        async with action.opened(needs_account=False) as person:
            removed = await face_references.remove_reference(person.session, person.beneficiary.id)
            outcome = "deleted" if removed else "none"
            await action.audit(person.session, person.subject, outcome=outcome)
    return outcome


@dataclass(frozen=True)
class ReviewRequest:
    account_id: str
    requested_at: datetime
    beneficiary_id: int | None = None  # the desk's person page (``/atendimento/pessoas/{id}``)


async def review_requests(runtime: Runtime, days: int = 30, limit: int = 50) -> list[ReviewRequest]:
    """The newest requests for a human review of a facial refusal (LGPD art. 20)."""
    since = utcnow() - timedelta(days=days)
    async with runtime.db.read() as session:
        rows = (await session.execute(
            select(AuditEvent.subject, AuditEvent.created_at)
            .where(AuditEvent.tag == AuditTag.FACE_REVIEW_REQUESTED.value,
                   AuditEvent.created_at >= since)
            .order_by(AuditEvent.id.desc()).limit(limit))).all()
        people = dict((await session.execute(
            select(Account.id, Account.beneficiary_id)
            .where(Account.id.in_([s for s, _ in rows if s])))).all()) if rows else {}
    return [ReviewRequest(account_id=s, requested_at=t, beneficiary_id=people.get(s))
            for s, t in rows if s]


# What the person page shows of the facial validation: the reference and the latest outcomes,
# so a supervisor can review a refusal (LGPD art. 20) with the person in front of them.
FACE_EVENTS = (AuditTag.FACE_VERIFIED, AuditTag.FACE_FAILED, AuditTag.FACE_REVIEW_REQUESTED,
               AuditTag.SUPPORT_FACE_CAPTURED, AuditTag.SUPPORT_FACE_DELETED)


@dataclass(frozen=True)
class FaceEvent:
    at: datetime
    tag: str
    outcome: str | None


@dataclass(frozen=True)
class FaceSummary:
    source: str | None  # registry | in_person; None without a reference
    captured_at: datetime | None
    events: list[FaceEvent]
    review_requested: bool  # a review asked after the last refusal, not yet followed by a pass

    @property
    def has_reference(self) -> bool:
        return self.source is not None


async def summary(runtime: Runtime, beneficiary_id: int, account_id: str | None,
                  limit: int = 10) -> FaceSummary:
    """The reference (its source, never the template) and the account's latest face events."""
    async with runtime.db.read() as session:
        reference = (await session.execute(
            select(FaceReference.source, FaceReference.updated_at)
            .where(FaceReference.beneficiary_id == beneficiary_id))).first()
        rows = (await session.execute(
            select(AuditEvent.created_at, AuditEvent.tag, AuditEvent.details)
            .where(AuditEvent.subject == account_id,
                   AuditEvent.tag.in_([t.value for t in FACE_EVENTS]))
            .order_by(AuditEvent.id.desc()).limit(limit))).all() if account_id else []
    events = [FaceEvent(at, tag, (details or {}).get("outcome")) for at, tag, details in rows]
    pending = False
    for event in events:  # newest first: a review counts until a pass or a new reference
        if event.tag in (AuditTag.FACE_VERIFIED.value, AuditTag.SUPPORT_FACE_CAPTURED.value):
            break
        if event.tag == AuditTag.FACE_REVIEW_REQUESTED.value:
            pending = True
            break
    return FaceSummary(source=reference[0] if reference else None,
                       captured_at=reference[1] if reference else None,
                       events=events, review_requested=pending)
