"""The caller check (docs/support-desk.md › What an agent does, steps 2 and 3).

Compares what the caller says (birth date plus CPF or card number) with the registry and answers
only "confere" or "não confere"; the values compared are never shown, before or after. A passing
check is a grant to this actor for this person (``GUARITA_SUPPORT__GRANT_MINUTES``); repeated
mismatches make the actor wait (guessing a birth date by phone is the attack this stops).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from guarita.domain import identifiers as ids
from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, FieldErrors, GuaritaError, Message
from guarita.domain.evidence import EvidenceKind
from guarita.runtime import Runtime
from guarita.services import trust
from guarita.services.support.action import audit_context
from guarita.services.support.grants import person_of, recent_failures
from guarita.services.support.masking import subject_of
from guarita.services.support.reasons import Reason
from guarita.storage.audit import RequestContext, record
from guarita.storage.support_tables import SupportCallerCheck
from guarita.storage.tables import Beneficiary
from guarita.storage.types import utcnow


@dataclass
class CheckResult:
    passed: bool
    expires_at: datetime | None
    checks_left: int

    @property
    def answer(self) -> str:
        return "confere" if self.passed else "nao_confere"


@dataclass
class _Said:
    """What the caller said, normalised."""

    birth: date
    cpf: str | None
    card: str | None

    @property
    def compared(self) -> list[str]:
        return ["birth_date"] + (["cpf"] if self.cpf else []) + (["card_number"] if self.card else [])


def _parse(runtime: Runtime, birth_date: str, cpf: str | None, card_number: str | None) -> _Said:
    """Every malformed value at once; refused for its format, which says nothing of the person."""
    settings = runtime.settings
    errors: list[GuaritaError] = []
    birth = cpf_value = card_value = None
    try:
        birth = ids.parse_birth_date(birth_date or "", field="birth_date")
    except GuaritaError as exc:
        errors.append(exc)
    if (cpf or "").strip():
        try:
            cpf_value = ids.normalize_cpf(cpf or "", field="cpf")
        except GuaritaError as exc:
            errors.append(exc)
    if (card_number or "").strip():
        try:
            card_value = ids.normalize_card(
                card_number or "",
                settings.card_min_length,
                settings.card_max_length,
                field="card_number",
            )
        except GuaritaError as exc:
            errors.append(exc)
    if not errors and cpf_value is None and card_value is None:
        errors.append(
            GuaritaError(
                ErrorCode.VALIDATION_ERROR,
                field="cpf",
                message=Message.CALLER_CHECK_NEEDS_DOCUMENT,
            )
        )
    if errors:
        raise FieldErrors(errors) if len(errors) > 1 else errors[0]
    return _Said(birth, cpf_value, card_value)


async def caller_check(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    reason: Reason,
    birth_date: str,
    cpf: str | None,
    card_number: str | None,
    context: RequestContext,
) -> CheckResult:
    """Compares what the caller said with the registry; answers only whether it all matches.

    The birth date is always asked, plus the CPF or the card number (both may be given; all that
    is given must match). A malformed value is refused for its format (that says nothing about the
    person); after ``caller_check_failures`` mismatches within the window this actor must wait.
    """
    said = _parse(runtime, birth_date, cpf, card_number)
    desk = runtime.settings.support
    now = utcnow()
    details = {**actor.audit_details(), **reason.details()}
    async with runtime.db.transaction() as session:
        beneficiary, account = await person_of(session, beneficiary_id)
        subject = subject_of(beneficiary.id, account.id if account else None)
        failures = await recent_failures(session, actor, beneficiary.id, now, desk.caller_check_window_minutes)
        blocked = failures >= desk.caller_check_failures
        if blocked:
            await record(
                session,
                AuditTag.SUPPORT_CALLER_CHECKED,
                subject=subject,
                context=audit_context(actor, context),
                details={**details, "outcome": "blocked"},
            )
        else:
            matched = _matches(beneficiary, said)
            row = SupportCallerCheck(
                actor=actor.audit_id,
                beneficiary_id=beneficiary.id,
                passed=matched,
                reason=reason.code,
                reason_text=reason.text,
                created_at=now,
                expires_at=now + timedelta(minutes=desk.grant_minutes) if matched else now,
            )
            session.add(row)
            if matched and account is not None:
                # Evidence of knowledge only (it leaks): recorded, and no level in the default
                # table counts it (docs/trust-levels.md).
                await trust.record_evidence(
                    session, runtime.settings, account.id, EvidenceKind.CALLER_CHECK,
                    method="desk", source="registry", recorded_by=actor.audit_id,
                    context=audit_context(actor, context), now=now)
            await record(
                session,
                AuditTag.SUPPORT_CALLER_CHECKED,
                subject=subject,
                context=audit_context(actor, context),
                details={
                    **details,
                    "outcome": "confere" if matched else "nao_confere",
                    "compared": said.compared,
                },
            )
    if blocked:
        raise GuaritaError(
            ErrorCode.TOO_MANY_ATTEMPTS,
            message=Message.CALLER_CHECK_BLOCKED,
            details={"retry_after": desk.caller_check_window_minutes * 60},
        )
    left = desk.caller_check_failures - failures - (0 if matched else 1)
    return CheckResult(matched, row.expires_at if matched else None, max(0, left))


def _matches(beneficiary: Beneficiary, said: _Said) -> bool:
    # Every comparison is made, so the time taken does not say which one failed.
    results = [beneficiary.birth_date == said.birth]
    if said.cpf is not None:
        results.append(beneficiary.cpf is not None and beneficiary.cpf == said.cpf)
    if said.card is not None:
        results.append(beneficiary.card_number == said.card)
    return all(results)
