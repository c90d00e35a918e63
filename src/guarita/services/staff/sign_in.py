"""Staff sign-in: password and a TOTP code (or an unused recovery code), always (NIST SP
800-63B-4 AAL2; docs/support-desk.md › Enrolling staff).

Each factor is a method of the port (``methods/password.py``, ``methods/totp.py``,
``methods/recovery_codes.py``) checked against the member's rows of the credentials table, and
every guess goes through the attempt protocol (``services/attempts.py``) the beneficiaries use:
counted before the hash, one answer for an unknown e-mail, a wrong password and a wrong code, and
no answer sooner than the failure floor, so a right password with a wrong code takes as long as a
wrong password (SECURITY.md › Account enumeration).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from guarita.domain import identifiers as ids
from guarita.domain.accounts import PrincipalKind, StaffStatus
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.methods import password as password_method
from guarita.methods import recovery_codes, totp
from guarita.methods.base import Method, Principal, StoredCredential
from guarita.runtime import Runtime
from guarita.services import attempts, throttling
from guarita.services.method_context import CredentialStore, LoadedCredentials, ServiceContext
from guarita.services.staff.common import staff_subject
from guarita.services.staff.members import StaffView
from guarita.services.staff.sessions import create_session
from guarita.storage import credentials as credentials_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.support_tables import StaffAccount
from guarita.storage.types import utcnow

_SIGN_IN_FAILED = Message.STAFF_SIGN_IN_FAILED


async def _disable(session, subject: str) -> bool:  # noqa: ANN001
    """The 100th consecutive failure disables the member until an admin enables them again."""
    staff = await session.get(StaffAccount, int(subject.split(":", 1)[1]))
    if staff is None or staff.status == StaffStatus.DISABLED:
        return False
    staff.status = StaffStatus.DISABLED
    return True


RULES = attempts.Rules(
    failed=AuditTag.STAFF_LOGIN_FAILED, disabled=AuditTag.STAFF_DISABLED, disable=_disable,
    wait_message="Muitas tentativas. Aguarde alguns minutos ou peça ajuda ao administrador.",
)


@dataclass
class StaffSignIn:
    token: str
    staff: StaffView
    used_recovery_code: bool = False
    recovery_codes_left: int | None = None


def second_factor(code: str | None) -> Method:
    """Six digits are an authenticator code; anything else is tried as a recovery code."""
    return totp.METHOD if totp.looks_like_totp(code) else recovery_codes.METHOD


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
        staff = (
            await session.execute(select(StaffAccount).where(StaffAccount.email == address))
        ).scalar_one_or_none()
        stored = None
        if staff is not None:
            row = await credentials_repo.get(session, PrincipalKind.STAFF, staff.id,
                                             password_method.CREDENTIAL)
            stored = row.hash if row is not None else None
        key = throttling.throttle_key(
            throttling.Scope.STAFF_SIGN_IN, str(staff.id) if staff else None, address)
        attempt = await attempts.begin(
            session, runtime, key, staff_subject(staff.id) if staff else None)
    attempt.refuse_if_waiting(RULES)
    principal = Principal(kind=PrincipalKind.STAFF, id=str(staff.id) if staff else None)
    usable = staff is not None and staff.status == StaffStatus.ACTIVE and stored is not None
    # Unknown, disabled and pending staff still pay for one argon2id verification.
    loaded = LoadedCredentials()
    if usable:
        loaded.found[password_method.CREDENTIAL] = StoredCredential(
            type=password_method.CREDENTIAL, secret=stored)
    ctx = ServiceContext(runtime=runtime, request=context, principal=principal,
                         credentials=loaded)
    outcome = await password_method.METHOD.verify(ctx, None, {"password": password or ""})
    factor = second_factor(code)
    if outcome.ok:
        ctx.credentials = CredentialStore(runtime, principal, ctx.now)
        outcome = await factor.verify(ctx, None, {"code": code or ""})
    if not outcome.ok:
        raise await attempts.failed(
            runtime, attempt, RULES, context,
            GuaritaError(ErrorCode.INVALID_CREDENTIALS, message=_SIGN_IN_FAILED))
    used_recovery = factor is recovery_codes.METHOD
    now = utcnow()
    async with runtime.db.transaction() as session:
        await attempts.succeeded(session, attempt)
        token = await create_session(
            session, staff.id, context, now,
            amr=[password_method.METHOD.amr, "otp" if not used_recovery else "rc"],
            absolute_hours=settings.support.staff_absolute_hours,
        )
        await session.execute(
            update(StaffAccount).where(StaffAccount.id == staff.id).values(last_login_at=now)
        )
        left = None
        if used_recovery:
            left = outcome.details["left"]
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
