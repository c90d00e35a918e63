"""Staff of the support desk: enrolment, sign-in with password and TOTP, sessions, API tokens.

Issue 6 › Staff. The rules:

- ``guarita staff add`` creates a *pending* staff account and a single-use enrolment link valid
  24 h (only its SHA-256 is stored). On the link the person chooses a password (the password
  policy of SECURITY.md, at its single-factor length: these accounts open every beneficiary's
  data), scans a TOTP QR code and proves it with one code; ten recovery codes are then shown once
  and stored as HMACs.
- Sign-in always needs the password *and* a TOTP code or an unused recovery code (NIST SP
  800-63B-4 AAL2). A TOTP code is accepted once: the step is stored with a conditional UPDATE, so
  two requests with the same code have one winner. Failures are counted per staff account in the
  same database-backed throttle as beneficiaries (``services/throttling.py``), with the same
  answer for an unknown e-mail, a wrong password and a wrong code.
- Sessions: 256-bit cookie value, SHA-256 stored, 15 idle minutes, 12 h at most, a new id at each
  sign-in; disabling or resetting a staff member ends their sessions.
- Support API tokens: 256-bit values prefixed ``gst_``, stored as SHA-256 with their scopes,
  expiry, creator and revocation time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from guarita.domain import identifiers as ids
from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, FieldErrors, GuaritaError
from guarita.domain.passwords import PasswordContext, PasswordPolicy, normalize
from guarita.domain.roles import PERMISSIONS, Role, parse_scopes
from guarita.methods import totp
from guarita.runtime import Runtime
from guarita.services import throttling
from guarita.storage.audit import RequestContext, record
from guarita.storage.support_tables import (
    StaffAccount,
    StaffEnrolment,
    StaffRecoveryCode,
    StaffSession,
    SupportApiToken,
)
from guarita.storage.types import utcnow

ENROLMENT_PATH = "/atendimento/ativar"
TOKEN_PREFIX = "gst_"  # noqa: S105 - a prefix, not a secret
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed
# Writing last_seen_at at every request would make every page view a write.
_TOUCH_EVERY = timedelta(seconds=60)
_SIGN_IN_FAILED = "E-mail, senha ou código incorretos."


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def staff_subject(staff_id: int) -> str:
    return f"staff:{staff_id}"


# --- staff accounts ----------------------------------------------------------------------------


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
            message="Papel inválido: use agent, supervisor ou admin.",
        ) from exc


def _clean_name(name: str) -> str:
    value = " ".join((name or "").split())
    if not value or len(value) > 200:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR, field="name", message="Informe o nome (até 200 caracteres)."
        )
    return value


def _link(runtime: Runtime, token: str) -> str:
    # The token travels in the query string: the access log records paths only
    # (web/middleware.py) and the referrer policy is no-referrer.
    return f"{runtime.settings.base_url.rstrip('/')}{ENROLMENT_PATH}?token={token}"


async def _new_enrolment(session, staff_id: int, now: datetime, hours: int) -> tuple[str, datetime]:  # noqa: ANN001
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    # One live link per person: a new one replaces any earlier link.
    await session.execute(delete(StaffEnrolment).where(StaffEnrolment.staff_id == staff_id))
    session.add(
        StaffEnrolment(
            token_hash=sha256(token), staff_id=staff_id, created_at=now, expires_at=expires
        )
    )
    await session.flush()
    return token, expires


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
                status="pending",
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            token, expires = await _new_enrolment(
                session, row.id, now, runtime.settings.support.enrolment_hours
            )
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
            message="Já existe alguém da equipe com este e-mail.",
        ) from exc
    return Enrolment(StaffView.of(row), _link(runtime, token), expires)


async def staff_by(
    session, *, staff_id: int | None = None, email: str | None = None
) -> StaffAccount:  # noqa: ANN001
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
            else (
                await session.execute(select(StaffAccount).where(StaffAccount.email == address))
            ).scalar_one_or_none()
        )
    if row is None:
        raise GuaritaError(ErrorCode.NOT_FOUND, message="Pessoa da equipe não encontrada.")
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
        row.status = "pending"
        row.password_hash = None
        row.totp_secret = None
        row.totp_last_step = None
        row.updated_at = now
        await session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == row.id))
        await _end_sessions(session, row.id, now)
        token, expires = await _new_enrolment(
            session, row.id, now, runtime.settings.support.enrolment_hours
        )
        await record(
            session,
            AuditTag.STAFF_RESET,
            subject=staff_subject(row.id),
            context=context,
            actor=actor,
        )
    return Enrolment(StaffView.of(row), _link(runtime, token), expires)


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
            row.status = "active" if row.enrolled_at and row.password_hash else "pending"
        else:
            row.status = "disabled"
            await _end_sessions(session, row.id, now)
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
        rows = (
            (await session.execute(select(StaffAccount).order_by(StaffAccount.name)))
            .scalars()
            .all()
        )
        left = dict(
            (
                await session.execute(
                    select(StaffRecoveryCode.staff_id, func.count())
                    .where(StaffRecoveryCode.used_at.is_(None))
                    .group_by(StaffRecoveryCode.staff_id)
                )
            ).all()
        )
    return [StaffView.of(row, left.get(row.id, 0)) for row in rows]


# --- enrolment ---------------------------------------------------------------------------------


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
    session, token: str | None, now: datetime
) -> tuple[StaffEnrolment, StaffAccount]:  # noqa: ANN001
    if not token or len(token) > 128:
        raise GuaritaError(ErrorCode.ENROLMENT_EXPIRED)
    row = await session.get(StaffEnrolment, sha256(token), populate_existing=True)
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise GuaritaError(ErrorCode.ENROLMENT_EXPIRED)
    staff = await session.get(StaffAccount, row.staff_id)
    if staff is None or staff.status != "pending":
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
    return PasswordPolicy(min_length=cfg.min_length_single_factor, max_length=cfg.max_length)


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _clean_recovery_code(raw: str | None) -> str:
    return "".join(ch for ch in (raw or "").lower() if ch.isalnum())[:32]


def recovery_code_hash(master: bytes, staff_id: int, raw: str) -> str:
    message = f"staff-recovery|{staff_id}|{_clean_recovery_code(raw)}".encode()
    return hmac.new(master, message, hashlib.sha256).hexdigest()


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
            PasswordContext(
                name=staff_name,
                email=staff_email,
                extra_words=["guarita", runtime.settings.organisation_name],
            ),
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
                message="Código incorreto. Digite os 6 números que o aplicativo mostra agora.",
            )
        )
    if errors:
        raise FieldErrors(errors) if len(errors) > 1 else errors[0]
    hashed = await runtime.hasher.hash(normalize(password))
    codes = [new_recovery_code() for _ in range(runtime.settings.support.recovery_codes)]
    async with runtime.db.transaction() as session:
        used = await session.execute(
            update(StaffEnrolment)
            .where(StaffEnrolment.token_hash == row.token_hash, StaffEnrolment.used_at.is_(None))
            .values(used_at=now)
        )
        if used.rowcount != 1:  # the same link submitted twice at once: one winner
            raise GuaritaError(ErrorCode.ENROLMENT_EXPIRED)
        staff = await session.get(StaffAccount, staff_id, populate_existing=True)
        staff.password_hash = hashed
        staff.totp_secret = totp.seal(master, secret, bound_to=staff_subject(staff_id))
        staff.totp_last_step = step
        staff.status = "active"
        staff.enrolled_at = now
        staff.updated_at = now
        await session.execute(
            delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff_id)
        )
        session.add_all(
            StaffRecoveryCode(
                staff_id=staff_id, code_hash=recovery_code_hash(master, staff_id, c), created_at=now
            )
            for c in codes
        )
        await record(
            session,
            AuditTag.STAFF_ENROLLED,
            subject=staff_subject(staff_id),
            context=context,
            actor=staff_subject(staff_id),
            details={"recovery_codes": len(codes)},
        )
        session_token = await _create_session(
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


# --- sign-in and sessions ---------------------------------------------------------------------


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
        staff = (
            await session.execute(select(StaffAccount).where(StaffAccount.email == address))
        ).scalar_one_or_none()
        key = throttling.subject_key("staff", str(staff.id) if staff else None, address)
        # Counted before the hash (a success resets it): parallel guesses cannot slip past.
        count, wait = await throttling.begin_attempt(session, key, settings.lockout)
    if wait:
        raise throttling.too_many(
            wait,
            message=("Muitas tentativas. Aguarde alguns minutos ou peça ajuda ao administrador."),
        )
    usable = staff is not None and staff.status == "active" and staff.password_hash is not None
    # Unknown, disabled and pending staff still pay for one argon2id verification.
    correct = await runtime.hasher.verify(
        staff.password_hash if usable else None, normalize(password or "")
    )
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
        token = await _create_session(
            session,
            staff.id,
            context,
            now,
            amr=["pwd", "otp" if not used_recovery else "rc"],
            absolute_hours=settings.support.staff_absolute_hours,
        )
        await session.execute(
            update(StaffAccount).where(StaffAccount.id == staff.id).values(last_login_at=now)
        )
        left = None
        if used_recovery:
            left = (
                await session.execute(
                    select(func.count())
                    .select_from(StaffRecoveryCode)
                    .where(
                        StaffRecoveryCode.staff_id == staff.id, StaffRecoveryCode.used_at.is_(None)
                    )
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
    if not _clean_recovery_code(code):
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


async def _create_session(
    session,
    staff_id: int,
    context: RequestContext,
    now: datetime,  # noqa: ANN001
    amr: list[str],
    *,
    absolute_hours: int,
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id_hash=sha256(token),
            staff_id=staff_id,
            csrf_token=secrets.token_urlsafe(24),
            amr=amr,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=absolute_hours),
            ip=context.ip,
            user_agent=(context.user_agent or "")[:255] or None,
        )
    )
    await session.flush()
    return token


async def _end_sessions(session, staff_id: int, now: datetime) -> None:  # noqa: ANN001
    await session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def load_session(
    runtime: Runtime, token: str | None, *, now: datetime | None = None
) -> Actor | None:
    """The staff member of a live console session, touching its idle clock; None otherwise."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    async with runtime.db.transaction() as session:
        row = await session.get(StaffSession, sha256(token))
        if row is None or row.ended_at is not None:
            return None
        idle_end = row.last_seen_at + timedelta(minutes=runtime.settings.support.staff_idle_minutes)
        if row.expires_at <= now or idle_end <= now:
            row.ended_at = now
            return None
        staff = await session.get(StaffAccount, row.staff_id)
        if staff is None or staff.status != "active":
            row.ended_at = now
            return None
        if now - row.last_seen_at >= _TOUCH_EVERY:
            row.last_seen_at = now
        return Actor(
            kind="staff",
            id=staff.id,
            name=staff.name,
            email=staff.email,
            role=staff.role,
            via="console",
            csrf_token=row.csrf_token,
            session_hash=row.id_hash,
        )


async def sign_out(runtime: Runtime, actor: Actor, context: RequestContext) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(
            update(StaffSession)
            .where(StaffSession.id_hash == actor.session_hash, StaffSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        await record(
            session,
            AuditTag.STAFF_LOGOUT,
            subject=staff_subject(actor.id),
            context=context,
            actor=actor.audit_id,
        )


# --- support API tokens ------------------------------------------------------------------------


@dataclass
class TokenView:
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    token: str | None = field(default=None, repr=False)  # only right after creation

    @classmethod
    def of(cls, row: SupportApiToken, token: str | None = None) -> TokenView:
        return cls(
            row.id,
            row.name,
            row.prefix,
            list(row.scopes or []),
            row.created_by,
            row.created_at,
            row.expires_at,
            row.revoked_at,
            row.last_used_at,
            token,
        )

    def active(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or utcnow())

    def as_json(self) -> dict:
        data = {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": self.scopes,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "active": self.active(),
        }
        if self.token is not None:
            data["token"] = self.token
        return data


async def create_token(
    runtime: Runtime,
    *,
    name: str,
    scopes: str | list[str],
    expires_days: int,
    created_by: str,
    context: RequestContext,
) -> TokenView:
    """A new support API token; the value is in the answer and nowhere else."""
    clean_name = " ".join((name or "").split())[:100]
    if not clean_name:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="name",
            message="Dê um nome ao token (por exemplo, o sistema que vai usá-lo).",
        )
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR, field="scopes", message=f"Escopos inválidos: {exc}."
        ) from exc
    max_days = runtime.settings.support.token_max_days
    if not 1 <= int(expires_days) <= max_days:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="expires_days",
            message=f"A validade deve ser de 1 a {max_days} dias.",
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = SupportApiToken(
            name=clean_name,
            token_hash=sha256(token),
            prefix=token[:10],
            scopes=[str(s) for s in wanted],
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(days=int(expires_days)),
        )
        session.add(row)
        await session.flush()
        await record(
            session,
            AuditTag.SUPPORT_TOKEN_CREATED,
            subject=f"token:{row.id}",
            context=context,
            actor=created_by,
            details={
                "name": clean_name,
                "scopes": row.scopes,
                "expires_at": row.expires_at.isoformat(),
            },
        )
    return TokenView.of(row, token)


async def list_tokens(runtime: Runtime) -> list[TokenView]:
    async with runtime.db.read() as session:
        rows = (
            (await session.execute(select(SupportApiToken).order_by(SupportApiToken.id.desc())))
            .scalars()
            .all()
        )
    return [TokenView.of(row) for row in rows]


async def revoke_token(
    runtime: Runtime, token_id: int, *, actor: str, context: RequestContext
) -> TokenView:
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = await session.get(SupportApiToken, token_id)
        if row is None:
            raise GuaritaError(ErrorCode.NOT_FOUND, message="Token não encontrado.")
        if row.revoked_at is None:
            row.revoked_at = now
            await record(
                session,
                AuditTag.SUPPORT_TOKEN_REVOKED,
                subject=f"token:{row.id}",
                context=context,
                actor=actor,
                details={"name": row.name},
            )
    return TokenView.of(row)


async def authenticate_token(
    runtime: Runtime, raw: str | None, *, crm_agent: str | None = None
) -> Actor | None:
    """The actor of a live support API token, or None (unknown, expired and revoked alike)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 128:
        return None
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = (
            await session.execute(
                select(SupportApiToken).where(SupportApiToken.token_hash == sha256(raw))
            )
        ).scalar_one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
            row.last_used_at = now
        return Actor(
            kind="token",
            id=row.id,
            name=row.name,
            via="api",
            scopes=frozenset(row.scopes or []),
            crm_agent=crm_agent,
        )


def role_permissions(role: str) -> list[str]:
    return sorted(str(p) for p in PERMISSIONS.get(Role(role), ()))
