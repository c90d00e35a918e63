"""The support desk's team: add someone (a *pending* account and its enrolment link), reset them
(lost phone, forgotten password), disable or enable them, list them (docs/support-desk.md ›
Enrolling staff)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain import identifiers as ids
from guarita.domain.accounts import PrincipalKind, StaffStatus
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.roles import PERMISSIONS, Role
from guarita.methods import password as password_method
from guarita.methods import recovery_codes
from guarita.runtime import Runtime
from guarita.services.staff.common import staff_subject
from guarita.services.staff.enrolment import enrolment_link, new_enrolment
from guarita.services.staff.sessions import end_sessions
from guarita.storage import credentials as credentials_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.support_tables import StaffAccount
from guarita.storage.tables import Credential
from guarita.storage.types import utcnow


@dataclass
class StaffView:
    id: int
    email: str
    name: str
    role: str
    status: str
    created_at: datetime
    enrolled_at: datetime | None
    last_login_at: datetime | None
    recovery_codes_left: int = 0

    @classmethod
    def of(cls, row: StaffAccount, codes_left: int = 0) -> StaffView:
        return cls(
            row.id,
            row.email,
            row.name,
            row.role,
            row.status,
            row.created_at,
            row.enrolled_at,
            row.last_login_at,
            codes_left,
        )

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "enrolled_at": self.enrolled_at.isoformat() if self.enrolled_at else None,
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
            "recovery_codes_left": self.recovery_codes_left,
        }


@dataclass
class Enrolment:
    staff: StaffView
    link: str
    expires_at: datetime

    def as_json(self) -> dict:
        return {
            "staff": self.staff.as_json(),
            "enrolment_link": self.link,
            "expires_at": self.expires_at.isoformat(),
        }


def _clean_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="role",
            message=Message.INVALID_ROLE,
        ) from exc


def _clean_name(name: str) -> str:
    value = " ".join((name or "").split())
    if not value or len(value) > 200:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="name", message=Message.NAME_REQUIRED)
    return value


async def add_staff(
    runtime: Runtime,
    *,
    email: str,
    name: str,
    role: str,
    created_by: str,
    context: RequestContext,
) -> Enrolment:
    """A pending staff account and its single-use enrolment link (``guarita staff add``)."""
    address = ids.normalize_email(email)
    clean_name = _clean_name(name)
    clean_role = _clean_role(role)
    now = utcnow()
    try:
        async with runtime.db.transaction() as session:
            row = StaffAccount(
                email=address,
                name=clean_name,
                role=clean_role.value,
                status=StaffStatus.PENDING,
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            token, expires = await new_enrolment(session, row.id, now, runtime.settings.support.enrolment_hours)
            await record(
                session,
                AuditTag.STAFF_CREATED,
                subject=staff_subject(row.id),
                context=context,
                actor=created_by,
                details={"role": row.role, "email": address},
            )
    except IntegrityError as exc:
        raise GuaritaError(
            ErrorCode.ALREADY_REGISTERED,
            field="email",
            message=Message.STAFF_EMAIL_IN_USE,
        ) from exc
    return Enrolment(StaffView.of(row), enrolment_link(runtime, token), expires)


async def staff_by(session: AsyncSession, *, staff_id: int | None = None, email: str | None = None) -> StaffAccount:
    if staff_id is not None:
        row = await session.get(StaffAccount, staff_id)
    else:
        try:
            address = ids.normalize_email(email or "")
        except GuaritaError:
            address = None
        row = (
            None
            if address is None
            else (await session.execute(select(StaffAccount).where(StaffAccount.email == address))).scalar_one_or_none()
        )
    if row is None:
        raise GuaritaError(ErrorCode.NOT_FOUND, message=Message.STAFF_NOT_FOUND)
    return row


async def reset_staff(
    runtime: Runtime,
    *,
    staff_id: int | None = None,
    email: str | None = None,
    actor: str,
    context: RequestContext,
) -> Enrolment:
    """A lost phone or a forgotten password: back to *pending* with a new enrolment link.

    The password, the TOTP secret and the recovery codes are erased and every session ends, so
    nothing of the old credentials keeps working while the link waits.
    """
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = await staff_by(session, staff_id=staff_id, email=email)
        row.status = StaffStatus.PENDING
        row.updated_at = now
        # Every factor is one credentials row: the password, the TOTP secret, the codes.
        await credentials_repo.remove(session, PrincipalKind.STAFF, row.id)
        await end_sessions(session, row.id, now)
        token, expires = await new_enrolment(session, row.id, now, runtime.settings.support.enrolment_hours)
        await record(
            session,
            AuditTag.STAFF_RESET,
            subject=staff_subject(row.id),
            context=context,
            actor=actor,
        )
    return Enrolment(StaffView.of(row), enrolment_link(runtime, token), expires)


async def set_staff_status(
    runtime: Runtime,
    staff_id: int,
    *,
    enabled: bool,
    actor: str,
    context: RequestContext,
) -> StaffView:
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = await staff_by(session, staff_id=staff_id)
        if enabled:
            # An account that never enrolled stays pending: it has no credentials yet.
            has_password = await credentials_repo.get(
                session, PrincipalKind.STAFF, row.id, password_method.CREDENTIAL) is not None
            row.status = StaffStatus.ACTIVE if row.enrolled_at and has_password else StaffStatus.PENDING
        else:
            row.status = StaffStatus.DISABLED
            await end_sessions(session, row.id, now)
        row.updated_at = now
        await record(
            session,
            AuditTag.STAFF_ENABLED if enabled else AuditTag.STAFF_DISABLED,
            subject=staff_subject(row.id),
            context=context,
            actor=actor,
        )
    return StaffView.of(row)


async def list_staff(runtime: Runtime) -> list[StaffView]:
    async with runtime.db.read() as session:
        rows = (await session.execute(select(StaffAccount).order_by(StaffAccount.name))).scalars().all()
        left = {
            staff_id: recovery_codes.left(data or {})
            for staff_id, data in (
                await session.execute(
                    select(Credential.staff_id, Credential.data).where(
                        Credential.principal_kind == PrincipalKind.STAFF,
                        Credential.kind == recovery_codes.CREDENTIAL,
                    )
                )
            ).all()
        }
    return [StaffView.of(row, left.get(row.id, 0)) for row in rows]


def role_permissions(role: str) -> list[str]:
    return sorted(str(p) for p in PERMISSIONS.get(Role(role), ()))
