"""Supervisor: record an in-person check of an official photo document (SECURITY.md › Recovery:
"an in-person check by a supervisor"; gov.br's "balcão presencial": recorded as evidence of kind
``in_person_document``, which makes prata, and ouro together with a face validated alive against
a photo the desk took in person — ``docs/trust-levels.md``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.evidence import EvidenceKind
from guarita.runtime import Runtime
from guarita.services import trust
from guarita.services.support import labels
from guarita.services.support.action import DeskAction
from guarita.services.support.reasons import Reason
from guarita.storage.audit import RequestContext
from guarita.storage.support_tables import SupportIdentityCheck


def normalize_document(kind: str, number: str) -> tuple[str, str]:
    if kind not in labels.DOCUMENT_TYPES:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="document_type",
            message=Message.CHOOSE_DOCUMENT_TYPE,
        )
    clean = re.sub(r"[\s.\-/]", "", number or "").upper()
    if not 4 <= len(clean) <= 32 or not clean.isalnum():
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="document_number",
            message=Message.INVALID_DOCUMENT_NUMBER,
        )
    return kind, clean


@dataclass
class IdentityChecked:
    trust_before: str
    trust_after: str


async def record_identity_check(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    document_type: str,
    document_number: str,
    reason: Reason,
    context: RequestContext,
) -> IdentityChecked:
    """Supervisor: the person showed an official photo document in person. Stored as evidence
    (the document in ``support_identity_checks``, the proof in ``identity_evidence``); the
    level is recomputed from the evidence (prata at least, with the default table)."""
    tag = AuditTag.SUPPORT_IDENTITY_CHECKED
    async with DeskAction(runtime, actor, beneficiary_id, tag, reason, context) as action:
        kind, number = normalize_document(document_type, document_number)
        async with action.opened() as person:
            account = person.account
            before = account.trust_level
            after = (await trust.record_evidence(
                person.session, runtime.settings, account.id, EvidenceKind.IN_PERSON_DOCUMENT,
                method="desk", source=kind, recorded_by=actor.audit_id, context=action.audit_context,
                now=action.now)).value
            person.session.add(
                SupportIdentityCheck(
                    account_id=account.id,
                    actor=actor.audit_id,
                    document_type=kind,
                    document_number=number,
                    reason=reason.code,
                    reason_text=reason.text,
                    trust_before=before,
                    trust_after=after,
                    created_at=action.now,
                )
            )
            # The audit log is append-only and kept for years: the full number stays in the
            # evidence table, which can be erased under the LGPD; the log keeps its last digits.
            await action.audit(
                person.session,
                account.id,
                outcome="recorded",
                document_type=kind,
                document_end=number[-3:],
                trust_before=before,
                trust_after=after,
            )
    return IdentityChecked(before, after)
