"""Staff sign-in: password and a TOTP code (or an unused recovery code), always (NIST SP
800-63B-4 AAL2; docs/support-desk.md › Enrolling staff).

A TOTP code is accepted once: the step is stored with a conditional UPDATE, so two requests with
the same code have one winner (RFC 6238 §5.2). Failures are counted per staff account, before the
hash, in the same database-backed throttle as beneficiaries (``services/throttling.py``), with the
same answer for an unknown e-mail, a wrong password and a wrong code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select, update

from guarita.domain import identifiers as ids
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.passwords import normalize
from guarita.methods import totp
from guarita.runtime import Runtime
from guarita.services import throttling
from guarita.services.staff.common import staff_subject
from guarita.services.staff.members import StaffView
from guarita.services.staff.recovery_codes import clean_recovery_code, recovery_code_hash
from guarita.services.staff.sessions import create_session
from guarita.storage.audit import RequestContext, record
from guarita.storage.support_tables import StaffAccount, StaffRecoveryCode
from guarita.storage.types import utcnow

_SIGN_IN_FAILED = Message.STAFF_SIGN_IN_FAILED


@dataclass
class StaffSignIn:
    token: str
    staff: StaffView
    used_recovery_code: bool = False
    recovery_codes_left: int | None = None


async def sign_in(
    runtime: Runtime,
    email: str,
    password: str,
    code: str,
    context: RequestContext,
) -> StaffSignIn:
    """Password and TOTP (or a recovery code), always; one answer for every failure."""
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "login", context.ip)
    try:
        address = ids.normalize_email(email or "")
    except GuaritaError:
        address = (email or "").strip().lower()[:254]
    async with runtime.db.transaction() as session:
        staff = (await session.execute(select(StaffAccount).where(StaffAccount.email == address))).scalar_one_or_none()
        key = throttling.throttle_key(
            throttling.Scope.STAFF_SIGN_IN, str(staff.id) if staff else None, address)
        # Counted before the hash (a success resets it): parallel guesses cannot slip past.
        count, wait = await throttling.begin_attempt(session, key, settings.lockout)
    if wait:
        raise throttling.too_many(
            wait,
            message=Message.STAFF_TOO_MANY_ATTEMPTS,
        )
    usable = staff is not None and staff.status == "active" and staff.password_hash is not None
    # Unknown, disabled and pending staff still pay for one argon2id verification.
    correct = await runtime.hasher.verify(staff.password_hash if usable else None, normalize(password or ""))
    used_recovery = False
    if correct:
        if totp.looks_like_totp(code):
            correct = await _accept_totp(runtime, staff, code)
        else:
            correct = await _accept_recovery_code(runtime, staff, code)
            used_recovery = correct
    if not correct:
        async with runtime.db.transaction() as session:
            if staff is not None:
                await record(
                    session,
                    AuditTag.STAFF_LOGIN_FAILED,
                    subject=staff_subject(staff.id),
                    context=context,
                    details={"consecutive": count},
                )
        raise GuaritaError(ErrorCode.INVALID_CREDENTIALS, message=_SIGN_IN_FAILED)
    now = utcnow()
    async with runtime.db.transaction() as session:
        await throttling.reset(session, key)
        token = await create_session(
            session,
            staff.id,
            context,
            now,
            amr=["pwd", "otp" if not used_recovery else "rc"],
            absolute_hours=settings.support.staff_absolute_hours,
        )
        await session.execute(update(StaffAccount).where(StaffAccount.id == staff.id).values(last_login_at=now))
        left = None
        if used_recovery:
            left = (
                await session.execute(
                    select(func.count())
                    .select_from(StaffRecoveryCode)
                    .where(StaffRecoveryCode.staff_id == staff.id, StaffRecoveryCode.used_at.is_(None))
                )
            ).scalar_one()
            await record(
                session,
                AuditTag.STAFF_RECOVERY_CODE_USED,
                subject=staff_subject(staff.id),
                context=context,
                actor=staff_subject(staff.id),
                details={"left": left},
            )
        await record(
            session,
            AuditTag.STAFF_LOGIN_SUCCEEDED,
            subject=staff_subject(staff.id),
            context=context,
            actor=staff_subject(staff.id),
            details={"second_factor": "recovery_code" if used_recovery else "totp"},
        )
    return StaffSignIn(
        token=token,
        staff=StaffView.of(staff),
        used_recovery_code=used_recovery,
        recovery_codes_left=left,
    )


async def _accept_totp(runtime: Runtime, staff: StaffAccount, code: str) -> bool:
    master = runtime.settings.secret()
    try:
        secret = totp.unseal(master, staff.totp_secret or "", bound_to=staff_subject(staff.id))
    except ValueError:
        return False
    step = totp.matching_step(secret, code, last_step=staff.totp_last_step)
    if step is None:
        return False
    async with runtime.db.transaction() as session:
        # Conditional: a code already accepted (by this request's twin, or earlier) loses.
        won = await session.execute(
            update(StaffAccount)
            .where(
                StaffAccount.id == staff.id,
                or_(StaffAccount.totp_last_step.is_(None), StaffAccount.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
    return won.rowcount == 1


async def _accept_recovery_code(runtime: Runtime, staff: StaffAccount, code: str) -> bool:
    if not clean_recovery_code(code):
        return False
    digest = recovery_code_hash(runtime.settings.secret(), staff.id, code)
    async with runtime.db.transaction() as session:
        used = await session.execute(
            update(StaffRecoveryCode)
            .where(
                StaffRecoveryCode.staff_id == staff.id,
                StaffRecoveryCode.code_hash == digest,
                StaffRecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
    return used.rowcount == 1
