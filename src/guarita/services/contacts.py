"""Adding or replacing an e-mail or phone, confirmed by a code sent to it (docs/recovery.md ›
Contacts; docs/support-desk.md).

The new contact is saved only when its code comes back; then it replaces the old one of the same
kind, which is told about the change. A person does it from /conta after re-entering the
password; a support agent does it on the phone, the caller reading the code back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from guarita.domain import identifiers as ids
from guarita.domain.accounts import CONTACT_KINDS
from guarita.domain.audit_tags import AuditTag
from guarita.domain.contact_trust import ContactProof, cooling_off_until
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.flows import FlowKind, VerificationState
from guarita.domain.identifiers import IdentifierKind
from guarita.messaging.outbox import enqueue
from guarita.runtime import Runtime
from guarita.services import code_caps, flows, guard, step_up, throttling
from guarita.services.notifications import create_lock_link, lock_url, message_context
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import AccountIdentifier, Flow
from guarita.storage.types import utcnow

PURPOSE = "contact_verification"
FLOW_MINUTES = 30


@dataclass
class VerificationStarted:
    id: str
    kind: str
    destination: str  # masked
    expires_at: datetime


def confirm_url(settings, token: str, code: str) -> str:  # noqa: ANN001
    """The link in the message: opens a page whose button confirms (a GET changes nothing)."""
    return f"{settings.base_url.rstrip('/')}/confirmar-contato?id={token}&codigo={code}"


def normalize_contact(kind: str, value: str) -> tuple[IdentifierKind, str]:
    if kind == IdentifierKind.EMAIL:
        return IdentifierKind.EMAIL, ids.normalize_email(value, field="value")
    if kind == IdentifierKind.PHONE:
        return IdentifierKind.PHONE, ids.normalize_phone(value, field="value")
    raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="kind",
                       message=Message.CHOOSE_EMAIL_OR_PHONE)


async def start_verification(
    runtime: Runtime, account_id: str, kind: str, value: str, *, source: str = "self",
    context: RequestContext, proof: str = ContactProof.PASSWORD,
) -> VerificationStarted:
    """A code to the new contact. ``proof`` says what else proved the change (it decides the
    cooling-off, ``domain/contact_trust.py``)."""
    settings = runtime.settings
    kind_, normalized = normalize_contact(kind, value)
    # The fraud guard holds contact changes; the desk passes only with a supervisor's in-person
    # check (docs/fraud-guard.md).
    if not (source == "support" and proof == ContactProof.IN_PERSON):
        await guard.require_no_hold(runtime, account_id, guard.CONTACT_CHANGE)
    if source == "self":
        # A password alone must not change how a proven account is reached
        # (docs/trust-levels.md › Step-up: GUARITA_STEP_UP__ACTIONS).
        await step_up.check_action(runtime, account_id, step_up.CONTACT_CHANGE)
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "code", context.ip)
    now = utcnow()
    token, id_hash = flows.new_token()
    async with runtime.db.transaction() as session:
        owner = await accounts_repo.identifier_owner(session, kind_, normalized)
        if owner is not None and owner != account_id:
            raise GuaritaError(ErrorCode.CONTACT_IN_USE, field="value")
        flow = Flow(
            id_hash=id_hash, kind=FlowKind.CONTACT_VERIFICATION, state=VerificationState.CODE_SENT,
            account_id=account_id, identifier_kind=kind_.value, identifier_value=normalized,
            created_at=now, expires_at=now + timedelta(minutes=FLOW_MINUTES),
            data={"source": source, "actor": context.actor, "proof": str(proof)},
        )
        session.add(flow)
        if not await code_caps.code_allowed(session, settings, account_id, normalized,
                                            per_account=source != "support"):
            raise code_caps.refused()
        code = flows.issue_code(flow, settings, PURPOSE, now, real=True)
        await enqueue(
            session, channel="email" if kind_ is IdentifierKind.EMAIL else "sms", to=normalized,
            template="contact_code", account_id=account_id, discard_after=flow.code_expires_at,
            context=message_context(settings, code=code, minutes=settings.codes.lifetime_seconds // 60,
                                    # A desk change is confirmed only by the code read back to the
                                    # agent, with the existing contact's proof: a link would let
                                    # whoever holds the new contact skip both (SECURITY.md ›
                                    # Recovery; docs/support-desk.md).
                                    confirm_url=(None if source == "support"
                                                 else confirm_url(settings, token, code))),
        )
    masked = ids.mask_email(normalized) if kind_ is IdentifierKind.EMAIL else ids.mask_phone(normalized)
    return VerificationStarted(id=token, kind=kind_.value, destination=masked, expires_at=flow.expires_at)


# -- proof from a contact the account already has ------------------------------------------------
PROOF_PURPOSE = "contact_change_proof"


async def start_proof(
    runtime: Runtime, account_id: str, identifier_id: int | None, context: RequestContext,
) -> VerificationStarted:
    """A code to a verified contact the account already has, which the caller reads back to
    prove that the new contact is wanted by whoever holds the old one (SECURITY.md › Recovery).

    ``identifier_id`` picks the contact; None picks the first verified one. The message says
    what the code is for, so that a victim called by a scammer knows not to read it out.
    """
    settings = runtime.settings
    now = utcnow()
    token, id_hash = flows.new_token()
    async with runtime.db.transaction() as session:
        known = [
            i for i in await accounts_repo.identifiers_of(session, account_id)
            if i.kind in CONTACT_KINDS and i.verified_at is not None
        ]
        chosen = next((i for i in known if identifier_id in (None, i.id)), None)
        if chosen is None:
            raise GuaritaError(
                ErrorCode.METHOD_UNAVAILABLE, field="proof_contact_id",
                message=Message.CHOOSE_EXISTING_CONTACT,
            )
        flow = Flow(
            id_hash=id_hash, kind=FlowKind.CONTACT_VERIFICATION,
            state=VerificationState.CODE_SENT, account_id=account_id,
            identifier_kind=chosen.kind, identifier_value=chosen.value, created_at=now,
            expires_at=now + timedelta(minutes=FLOW_MINUTES),
            data={"purpose": PROOF_PURPOSE, "actor": context.actor},
        )
        session.add(flow)
        if not await code_caps.code_allowed(session, settings, account_id, chosen.value,
                                            per_account=False):
            raise code_caps.refused()
        code = flows.issue_code(flow, settings, PROOF_PURPOSE, now, real=True)
        await enqueue(
            session, channel="email" if chosen.kind == IdentifierKind.EMAIL else "sms", to=chosen.value,
            template="contact_proof", account_id=account_id, discard_after=flow.code_expires_at,
            context=message_context(settings, code=code,
                                    minutes=settings.codes.lifetime_seconds // 60),
        )
    masked = (ids.mask_email(chosen.value) if chosen.kind == IdentifierKind.EMAIL
              else ids.mask_phone(chosen.value))
    return VerificationStarted(id=token, kind=chosen.kind, destination=masked,
                               expires_at=flow.expires_at)


async def confirm_proof(runtime: Runtime, flow_id: str, code: str, account_id: str) -> None:
    """The code read back from the existing contact; once accepted it stays accepted."""
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, flow_id, FlowKind.CONTACT_VERIFICATION)
        if flow.account_id != account_id or (flow.data or {}).get("purpose") != PROOF_PURPOSE:
            raise flows.expired(FlowKind.CONTACT_VERIFICATION)
        if flow.state == VerificationState.COMPLETED:
            return
        if flow.state == VerificationState.FAILED:
            raise flows.invalid_code(flow, settings)
        ok = await flows.redeem_code(session, flow, settings, PROOF_PURPOSE, code,
                                     expected_state=VerificationState.CODE_SENT,
                                     next_state=VerificationState.COMPLETED)
        if not ok:
            error = flows.invalid_code(flow, settings)
    if not ok:
        error.field = "proof_code"
        raise error


async def resend(runtime: Runtime, flow_id: str, account_id: str, context: RequestContext) -> None:
    now = utcnow()
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, flow_id, FlowKind.CONTACT_VERIFICATION, for_update=True)
        if flow.account_id != account_id or flow.state != VerificationState.CODE_SENT:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        flows.check_resend(flow, runtime.settings, now)
        if not await code_caps.code_allowed(
            session, runtime.settings, account_id, flow.identifier_value,
            per_account=(flow.data or {}).get("source") != "support",
        ):
            raise code_caps.refused()
        code = flows.issue_code(flow, runtime.settings, PURPOSE, now, real=True)
        await enqueue(
            session, channel="email" if flow.identifier_kind == IdentifierKind.EMAIL else "sms",
            to=flow.identifier_value, template="contact_code", account_id=account_id,
            discard_after=flow.code_expires_at,
            context=message_context(runtime.settings, code=code,
                                    minutes=runtime.settings.codes.lifetime_seconds // 60,
                                    confirm_url=(None if (flow.data or {}).get("source") == "support"
                                                 else confirm_url(runtime.settings, flow_id, code))),
        )


async def confirm_verification(
    runtime: Runtime, flow_id: str, code: str, context: RequestContext,
    *, account_id: str | None = None, desk: bool = False,
) -> AccountIdentifier:
    """Saves the contact as verified, replacing the old one of its kind (which is notified).

    A contact the desk started is confirmed only through the desk (``desk=True``), where the
    existing contact's proof is checked first; anywhere else its flow looks expired."""
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "code", context.ip)
    now = utcnow()
    try:
        return await _confirm(runtime, flow_id, code, context, account_id, now, desk=desk)
    except IntegrityError as exc:
        # Another account confirmed the same contact at the same moment (PostgreSQL lets both
        # reach the insert; the unique index keeps one).
        raise GuaritaError(ErrorCode.CONTACT_IN_USE, field="value") from exc


async def _confirm(runtime: Runtime, flow_id: str, code: str, context: RequestContext,
                   account_id: str | None, now: datetime, *, desk: bool) -> AccountIdentifier:
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, flow_id, FlowKind.CONTACT_VERIFICATION)
        if account_id is not None and flow.account_id != account_id:
            raise flows.expired(FlowKind.CONTACT_VERIFICATION)
        if (flow.data or {}).get("purpose") == PROOF_PURPOSE:
            raise flows.expired(FlowKind.CONTACT_VERIFICATION)  # a proof saves nothing by itself
        if (flow.data or {}).get("source") == "support" and not desk:
            raise flows.expired(FlowKind.CONTACT_VERIFICATION)  # the desk's proof comes first
        if flow.state == VerificationState.FAILED:
            raise flows.invalid_code(flow, settings)
        if flow.state != VerificationState.CODE_SENT:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        ok = await flows.redeem_code(session, flow, settings, PURPOSE, code,
                                     expected_state=VerificationState.CODE_SENT,
                                     next_state=VerificationState.COMPLETED)
        if not ok:
            error = flows.invalid_code(flow, settings)
        else:
            saved = await _save(session, runtime, flow, now, context)
            return saved
    raise error


async def _save(session, runtime: Runtime, flow: Flow, now: datetime, context: RequestContext) -> AccountIdentifier:  # noqa: ANN001
    source = (flow.data or {}).get("source", "self")
    owner = await accounts_repo.identifier_owner(session, IdentifierKind(flow.identifier_kind), flow.identifier_value)
    if owner is not None and owner != flow.account_id:
        raise GuaritaError(ErrorCode.CONTACT_IN_USE, field="value")
    settings = runtime.settings
    if not (source == "support" and (flow.data or {}).get("proof") == ContactProof.IN_PERSON):
        # A change started before the hold began is held too.
        await guard.require_no_hold_in(session, settings, flow.account_id, guard.CONTACT_CHANGE)
    everything = await accounts_repo.identifiers_of(session, flow.account_id)
    old = [i for i in everything if i.kind == flow.identifier_kind]
    same = next((i for i in old if i.value == flow.identifier_value), None)
    replaced = [i for i in old if i is not same]
    already_trusted = same is not None and same.verified_at is not None
    # Every contact the account could be reached at is told at once, whatever kind changed,
    # with the "Não foi você?" link (SECURITY.md › Recovery).
    told = [i for i in everything if i.kind in CONTACT_KINDS and i.verified_at is not None
            and i is not same]
    lock_token = (
        await create_lock_link(session, runtime, flow.account_id, now) if told else None
    )
    new_label = "e-mail" if flow.identifier_kind == IdentifierKind.EMAIL else "celular"
    new_masked = (ids.mask_email(flow.identifier_value) if flow.identifier_kind == IdentifierKind.EMAIL
                  else ids.mask_phone(flow.identifier_value))
    for previous in told:
        await enqueue(
            session, channel="email" if previous.kind == IdentifierKind.EMAIL else "sms", to=previous.value,
            template="contact_replaced" if previous in replaced else "contact_added",
            account_id=flow.account_id,
            context=message_context(
                settings, kind_label="e-mail" if previous.kind == IdentifierKind.EMAIL else "celular",
                new_kind_label=new_label, new_destination=new_masked,
                when=settings.local_time(now), lock_url=lock_url(settings, lock_token),
            ),
        )
    for previous in replaced:
        await session.execute(delete(AccountIdentifier).where(AccountIdentifier.id == previous.id))
    await session.flush()
    if same is None:
        same = AccountIdentifier(account_id=flow.account_id, kind=flow.identifier_kind,
                                 value=flow.identifier_value, source=source, created_at=now)
        session.add(same)
    if not already_trusted:
        same.recovery_allowed_after = cooling_off_until(
            source, (flow.data or {}).get("proof"), now,
            settings.recovery.new_contact_cooling_off_hours,
        )
    same.verified_at = now
    same.source = source
    # A confirmed e-mail also signs in, as the registry's does (docs/architecture.md › Decisions: registry contacts).
    same.login_enabled = flow.identifier_kind == IdentifierKind.EMAIL
    await session.flush()
    if source == "support":
        tag = (
            AuditTag.SUPPORT_EMAIL_REGISTERED
            if flow.identifier_kind == IdentifierKind.EMAIL
            else AuditTag.SUPPORT_PHONE_REGISTERED
        )
    else:
        tag = AuditTag.CONTACT_REPLACED if replaced else AuditTag.CONTACT_ADDED
    await record(session, tag, subject=flow.account_id, context=context,
                 actor=(flow.data or {}).get("actor"),
                 details={"kind": flow.identifier_kind, "replaced": bool(replaced),
                          "proof": (flow.data or {}).get("proof"), "contacts_told": len(told),
                          "recovery_allowed_after": same.recovery_allowed_after.isoformat()
                          if same.recovery_allowed_after else None})
    return same
