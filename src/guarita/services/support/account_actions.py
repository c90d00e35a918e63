"""Desk actions on an account: tell the card number, end a temporary lock, and the supervisor's
re-enable a disabled password and disable or enable an account (docs/support-desk.md › What an
agent does; SECURITY.md › Throttling and lockout: a password disabled after 100 failures comes
back only through a recovery or a support agent)."""

from __future__ import annotations

from dataclasses import dataclass

from guarita.domain.accounts import AccountStatus
from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.runtime import Runtime
from guarita.services import sessions, throttling
from guarita.services.support.account_state import lock_key
from guarita.services.support.action import DeskAction
from guarita.services.support.reasons import Reason
from guarita.storage.audit import RequestContext
from guarita.storage.tables import Throttle


async def reveal_card(
    runtime: Runtime, actor: Actor, beneficiary_id: int, *, reason: Reason, context: RequestContext
) -> str:
    """The card number, to read to the caller (audited each time)."""
    action = DeskAction(runtime, actor, beneficiary_id, AuditTag.SUPPORT_CARD_REVEALED, reason, context)
    async with action, action.opened(needs_account=False) as person:
        await action.audit(person.session, person.subject, outcome="revealed")
        return person.beneficiary.card_number


@dataclass
class UnlockResult:
    outcome: str
    password_disabled: bool


async def unlock(
    runtime: Runtime, actor: Actor, beneficiary_id: int, *, reason: Reason, context: RequestContext
) -> UnlockResult:
    """Ends a temporary lock (the wait after wrong passwords). A *disabled* password is not
    re-enabled here: that is :func:`reenable_password`, for supervisors."""
    action = DeskAction(runtime, actor, beneficiary_id, AuditTag.SUPPORT_UNLOCKED, reason, context)
    async with action, action.opened() as person:
        now, account = action.now, person.account
        key = lock_key(account.id)
        lock = await person.session.get(Throttle, key)
        was_locked = bool(lock and lock.locked_until and lock.locked_until > now)
        failures = lock.count if lock else 0
        password_disabled = account.password_disabled_at is not None
        if not password_disabled:
            await throttling.reset(person.session, key)
        outcome = (
            "unlocked" if was_locked and not password_disabled else ("refused" if password_disabled else "not_locked")
        )
        await action.audit(
            person.session,
            account.id,
            outcome=outcome,
            failures_before=failures,
            **({"error": "password_disabled"} if password_disabled else {}),
        )
    return UnlockResult(outcome, password_disabled)


async def reenable_password(
    runtime: Runtime, actor: Actor, beneficiary_id: int, *, reason: Reason, context: RequestContext
) -> str:
    """Supervisor: the password disabled after 100 failures works again; the lock ends too."""
    action = DeskAction(runtime, actor, beneficiary_id, AuditTag.SUPPORT_PASSWORD_REENABLED, reason, context)
    async with action, action.opened() as person:
        account = person.account
        outcome = "reenabled" if account.password_disabled_at is not None else "not_disabled"
        account.password_disabled_at = None
        await throttling.reset(person.session, lock_key(account.id))
        await action.audit(person.session, account.id, outcome=outcome)
    return outcome


async def set_account_status(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    status: str,
    reason: Reason,
    context: RequestContext,
) -> str:
    """Supervisor: disable (every session ends at once) or enable an account."""
    if status not in tuple(AccountStatus):
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="status",
            message=Message.INVALID_ACCOUNT_STATUS,
        )
    tag = AuditTag.SUPPORT_ACCOUNT_DISABLED if status == AccountStatus.DISABLED else AuditTag.SUPPORT_ACCOUNT_ENABLED
    action = DeskAction(runtime, actor, beneficiary_id, tag, reason, context)
    async with action, action.opened() as person:
        account = person.account
        changed = account.status != status
        account.status = status
        ended = 0
        if status == AccountStatus.DISABLED:
            ended = await sessions.end_all(person.session, account.id, now=action.now)
        outcome = status if changed else "unchanged"
        await action.audit(person.session, account.id, outcome=outcome, sessions_ended=ended)
    return outcome
