"""Enrolment of a staff member through their single-use link (docs/support-desk.md › Enrolling
staff): choose a password (SECURITY.md › Passwords, at the single-factor length), scan a TOTP QR
code (RFC 6238) and prove it with one code; ten recovery codes are then shown once and stored as
HMACs, and the person is signed in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.accounts import PrincipalKind, StaffStatus
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, FieldErrors, GuaritaError, Message
from guarita.domain.passwords import PasswordPolicy, normalize, person_context
from guarita.methods import password as password_method
from guarita.methods import recovery_codes, totp
from guarita.methods.base import Principal
from guarita.runtime import Runtime
from guarita.services.staff.common import sha256, staff_subject
from guarita.services.staff.sessions import create_session
from guarita.storage import credentials as credentials_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.support_tables import StaffAccount, StaffEnrolment
from guarita.storage.types import utcnow

ENROLMENT_PATH = "/atendimento/ativar"


def enrolment_link(runtime: Runtime, token: str) -> str:
    # The token travels in the query string: the access log records paths only
    # (web/middleware.py) and the referrer policy is no-referrer.
    return f"{runtime.settings.base_url.rstrip('/')}{ENROLMENT_PATH}?token={token}"


async def new_enrolment(session: AsyncSession, staff_id: int, now: datetime, hours: int) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    # One live link per person: a new one replaces any earlier link.
    await session.execute(delete(StaffEnrolment).where(StaffEnrolment.staff_id == staff_id))
    session.add(StaffEnrolment(token_hash=sha256(token), staff_id=staff_id, created_at=now, expires_at=expires))
    await session.flush()
    return token, expires


@dataclass
class EnrolmentPage:
    name: str
    email: str
    role: str
    secret: str
    uri: str
    qr_svg: str
    expires_at: datetime

    @property
    def secret_grouped(self) -> str:
        return totp.grouped(self.secret)


async def _live_enrolment(
    session: AsyncSession, token: str | None, now: datetime
) -> tuple[StaffEnrolment, StaffAccount]:
    if not token or len(token) > 128:
        raise GuaritaError(ErrorCode.ENROLMENT_EXPIRED)
    row = await session.get(StaffEnrolment, sha256(token), populate_existing=True)
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise GuaritaError(ErrorCode.ENROLMENT_EXPIRED)
    staff = await session.get(StaffAccount, row.staff_id)
    if staff is None or staff.status != StaffStatus.PENDING:
        raise GuaritaError(ErrorCode.ENROLMENT_EXPIRED)
    return row, staff


def _enrolment_binding(row: StaffEnrolment) -> str:
    return f"enrolment:{row.token_hash}"


async def enrolment_page(runtime: Runtime, token: str | None) -> EnrolmentPage:
    """What the enrolment link shows; the TOTP secret is made once and kept (sealed)."""
    now = utcnow()
    master = runtime.settings.secret()
    async with runtime.db.transaction() as session:
        row, staff = await _live_enrolment(session, token, now)
        if row.totp_secret is None:
            secret = totp.new_secret()
            row.totp_secret = totp.seal(master, secret, bound_to=_enrolment_binding(row))
        else:
            secret = totp.unseal(master, row.totp_secret, bound_to=_enrolment_binding(row))
    issuer = totp.issuer_label(f"{runtime.settings.organisation_name} · Atendimento")
    uri = totp.provisioning_uri(secret, staff.email, issuer)
    return EnrolmentPage(
        name=staff.name,
        email=staff.email,
        role=staff.role,
        secret=secret,
        uri=uri,
        qr_svg=totp.qr_svg(uri, label="Código QR para o aplicativo autenticador"),
        expires_at=row.expires_at,
    )


def staff_password_policy(runtime: Runtime) -> PasswordPolicy:
    """Staff passwords follow the beneficiaries' policy at its single-factor length (15).

    NIST would allow 8 with a second factor; these accounts reach every beneficiary's data, and a
    long phrase costs nothing.
    """
    cfg = runtime.settings.password
    return PasswordPolicy.single_factor(cfg.min_length_single_factor, cfg.max_length)


@dataclass
class EnrolmentDone:
    codes: list[str]
    session_token: str = field(repr=False)


async def complete_enrolment(
    runtime: Runtime,
    token: str | None,
    *,
    password: str,
    confirmation: str,
    code: str,
    context: RequestContext,
) -> EnrolmentDone:
    """Sets the password and the TOTP secret; returns the ten recovery codes (shown once) and a
    session: the person has just proved both factors, and making them sign in again at once
    would fail anyway while the authenticator still shows the code just used."""
    now = utcnow()
    master = runtime.settings.secret()
    async with runtime.db.transaction() as session:
        row, staff = await _live_enrolment(session, token, now)
        sealed = row.totp_secret
        staff_id, staff_name, staff_email = staff.id, staff.name, staff.email
    if sealed is None:  # the page was never shown: nothing was scanned
        raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
    secret = totp.unseal(master, sealed, bound_to=_enrolment_binding(row))
    errors: list[GuaritaError] = []
    try:
        staff_password_policy(runtime).check(
            password,
            person_context(runtime.settings.organisation_name, name=staff_name, email=staff_email),
        )
    except GuaritaError as exc:
        errors.append(exc)
    if password != confirmation:
        errors.append(GuaritaError(ErrorCode.PASSWORD_MISMATCH, field="password_confirmation"))
    step = totp.matching_step(secret, code, now=now)
    if step is None:
        errors.append(
            GuaritaError(
                ErrorCode.INVALID_CODE,
                field="code",
                message=Message.TOTP_CODE_WRONG,
            )
        )
    if errors:
        raise FieldErrors(errors) if len(errors) > 1 else errors[0]
    hashed = await runtime.hasher.hash(normalize(password))
    principal = Principal(kind=PrincipalKind.STAFF, id=str(staff_id))
    codes, code_data = recovery_codes.new_set(master, principal,
                                              runtime.settings.support.recovery_codes)
    async with runtime.db.transaction() as session:
        used = await session.execute(
            update(StaffEnrolment)
            .where(StaffEnrolment.token_hash == row.token_hash, StaffEnrolment.used_at.is_(None))
            .values(used_at=now)
        )
        if used.rowcount != 1:  # the same link submitted twice at once: one winner
            raise GuaritaError(ErrorCode.ENROLMENT_EXPIRED)
        staff = await session.get(StaffAccount, staff_id, populate_existing=True)
        staff.status = StaffStatus.ACTIVE
        staff.enrolled_at = now
        staff.updated_at = now
        # Each factor is one row of the credentials table; enrolling again replaces them.
        await credentials_repo.put(session, PrincipalKind.STAFF, staff_id,
                                   password_method.CREDENTIAL, hash=hashed,
                                   algorithm="argon2id", now=now)
        await credentials_repo.put(
            session, PrincipalKind.STAFF, staff_id, totp.CREDENTIAL, now=now, counter=step,
            data={"sealed": totp.seal(master, secret, bound_to=totp.binding(principal))})
        await credentials_repo.put(session, PrincipalKind.STAFF, staff_id,
                                   recovery_codes.CREDENTIAL, data=code_data, now=now)
        await record(
            session,
            AuditTag.STAFF_ENROLLED,
            subject=staff_subject(staff_id),
            context=context,
            actor=staff_subject(staff_id),
            details={"recovery_codes": len(codes)},
        )
        session_token = await create_session(
            session,
            staff_id,
            context,
            now,
            amr=["pwd", "otp"],
            absolute_hours=runtime.settings.support.staff_absolute_hours,
        )
        await record(
            session,
            AuditTag.STAFF_LOGIN_SUCCEEDED,
            subject=staff_subject(staff_id),
            context=context,
            actor=staff_subject(staff_id),
            details={"second_factor": "totp", "via": "enrolment"},
        )
    return EnrolmentDone(codes=codes, session_token=session_token)
