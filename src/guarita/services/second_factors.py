"""Segurança da conta: a person's second factors — authenticator app (TOTP), passkeys and
recovery codes — enrolled, listed, renamed and removed (docs/two-step.md; SECURITY.md › Sessions:
re-authentication before changing second factors; NIST SP 800-63B-4 §4.1, §4.2).

Rules kept here, for the pages and the API alike:

- enrolling, removing and regenerating need a sign-in or a password confirmation in the last
  ``GUARITA_MFA__REAUTH_MINUTES`` (5) minutes (:func:`require_recent`);
- every change is audited and told to every verified contact with a "Não foi você?" link;
- a TOTP secret is shown once and starts working only when a first code from the app proves it
  was copied right; the first second factor also brings a first set of recovery codes;
- removing the last second factor (TOTP and passkeys; recovery codes are only their backup, and
  go with them) asks for a new password of 15 characters when the current one was shorter
  (SECURITY.md › Passwords: 8 with a second factor, 15 alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.accounts import PrincipalKind
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.domain.flows import ChallengeState, FlowKind
from guarita.domain.identifiers import IdentifierKind
from guarita.methods import passkey, recovery_codes, totp
from guarita.methods.base import Principal
from guarita.runtime import Runtime
from guarita.services import flows, guard, sessions, trust
from guarita.services.notifications import create_lock_link, lock_url, notify_contacts
from guarita.services.registration import (
    first_name,
    person_words,
    policy_for,
)
from guarita.storage import accounts as accounts_repo
from guarita.storage import credentials as credentials_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Flow
from guarita.storage.types import utcnow

# Evidence strong enough to replace a lost second factor (SECURITY.md › Recovery): a method of
# the registry whose Outcome.evidence is one of these may lead to remove_all().
STRONG_EVIDENCE = frozenset({EvidenceKind.IN_PERSON_DOCUMENT, EvidenceKind.FACE, EvidenceKind.BANK})

# The credential types that are a second factor; recovery codes are their backup.
FACTORS = (totp.CREDENTIAL, passkey.CREDENTIAL)
BACKUP = recovery_codes.CREDENTIAL
ACCOUNT = PrincipalKind.ACCOUNT

# What the notification calls each change (pt-BR, shown in e-mails and SMS).
CHANGES = {
    "totp_enrolled": "um aplicativo autenticador foi cadastrado",
    "totp_removed": "o aplicativo autenticador foi removido",
    "passkey_enrolled": "uma chave de acesso foi cadastrada",
    "passkey_removed": "uma chave de acesso foi removida",
    "codes_generated": "novos códigos de recuperação foram gerados",
    "all_removed": "a verificação em duas etapas foi desligada",
}


@dataclass
class PasskeyView:
    id: str
    name: str
    created_at: str | None
    last_used_at: str | None
    synced: bool


@dataclass
class Summary:
    """What "Segurança da conta" shows; never a secret."""

    totp: bool = False
    passkeys: list[PasskeyView] = field(default_factory=list)
    recovery_codes_left: int | None = None  # None: no set
    recent: bool = False  # may change things now without confirming the password again
    password_long_enough: bool = True

    @property
    def enabled(self) -> bool:
        return self.totp or bool(self.passkeys)

    @property
    def methods(self) -> list[str]:
        found = []
        if self.passkeys:
            found.append(passkey.METHOD.id)
        if self.totp:
            found.append(totp.METHOD.id)
        if self.recovery_codes_left:
            found.append(recovery_codes.METHOD.id)
        return found


def principal(account_id: str) -> Principal:
    return Principal(kind=ACCOUNT, id=account_id)


async def held(session: AsyncSession, account_id: str) -> set[str]:
    """The credential types the account holds (``password``, ``totp``, ``passkeys``…)."""
    return set(await credentials_repo.types_of(session, ACCOUNT, account_id))


async def has_second_factor(session: AsyncSession, account_id: str | None) -> bool:
    return bool(account_id) and bool(await held(session, account_id) & set(FACTORS))


def is_recent(runtime: Runtime, current: sessions.SessionInfo, now: datetime | None = None) -> bool:
    """A sign-in or a password confirmation within the re-authentication window."""
    now = now or utcnow()
    window = timedelta(minutes=runtime.settings.mfa.reauth_minutes)
    moments = [m for m in (current.auth_time, current.reauth_at) if m is not None]
    return any(now - moment <= window for moment in moments)


def require_recent(runtime: Runtime, current: sessions.SessionInfo) -> None:
    if not is_recent(runtime, current):
        raise GuaritaError(ErrorCode.REAUTHENTICATION_REQUIRED, field="password")


def views(data: dict[str, Any]) -> list[PasskeyView]:
    return [
        PasskeyView(
            id=k["id"],
            name=k.get("name") or "Chave de acesso",
            created_at=k.get("created_at"),
            last_used_at=k.get("last_used_at"),
            synced=k.get("device_type") == "multi_device",
        )
        for k in passkey.keys_of(data)
    ]


async def summary(
    runtime: Runtime, account_id: str, current: sessions.SessionInfo | None = None
) -> Summary:
    async with runtime.db.read() as session:
        rows = {
            t: await credentials_repo.get(session, ACCOUNT, account_id, t)
            for t in (*FACTORS, BACKUP, "password")
        }
    keys = rows[passkey.CREDENTIAL]
    codes = rows[BACKUP]
    password = rows["password"]
    return Summary(
        totp=rows[totp.CREDENTIAL] is not None,
        passkeys=views(keys.data or {}) if keys is not None else [],
        recovery_codes_left=recovery_codes.left(codes.data or {}) if codes is not None else None,
        recent=current is not None and is_recent(runtime, current),
        password_long_enough=bool(
            password is not None and (password.data or {}).get("single_factor_length")
        ),
    )


async def notify_change(
    session: AsyncSession,
    runtime: Runtime,
    account_id: str,
    change: str,
    now: datetime,
    *,
    by_desk: bool = False,
) -> int:
    """Tells every verified contact, with a "Não foi você?" link (SECURITY.md › Recovery)."""
    account = await accounts_repo.account(session, account_id)
    beneficiary = await accounts_repo.beneficiary_of(session, account) if account else None
    token = await create_lock_link(session, runtime, account_id, now)
    return await notify_contacts(
        session,
        runtime.settings,
        account_id,
        "second_factor_changed",
        first_name=first_name(beneficiary.name if beneficiary else None,
                                         beneficiary.social_name if beneficiary else None),
        when=runtime.settings.local_time(now),
        change=CHANGES[change],
        by_desk=by_desk,
        lock_url=lock_url(runtime.settings, token),
    )


# -- the authenticator app --------------------------------------------------------------------
@dataclass
class TotpEnrolment:
    enrolment_id: str
    secret: str  # grouped by four, for typing
    uri: str  # otpauth://, for the QR code and for apps on the same phone
    qr_svg: str
    expires_at: datetime


async def start_totp(
    runtime: Runtime, current: sessions.SessionInfo, context: RequestContext
) -> TotpEnrolment:
    """A new secret, shown once; it works only after :func:`confirm_totp` (RFC 6238 §5.1)."""
    require_recent(runtime, current)
    # Held after a recovery or a new device (docs/fraud-guard.md).
    await guard.require_no_hold(runtime, current.account_id, guard.SECOND_FACTOR)
    account_id = current.account_id
    secret = totp.new_secret()
    token, id_hash = flows.new_token()
    now = utcnow()
    expires = now + timedelta(minutes=runtime.settings.mfa.enrolment_minutes)
    async with runtime.db.transaction() as session:
        account = await accounts_repo.account(session, account_id)
        identifiers = await accounts_repo.identifiers_of(session, account_id)
        session.add(
            Flow(
                id_hash=id_hash,
                kind=FlowKind.TOTP_ENROLMENT,
                state=ChallengeState.OPEN,
                account_id=account_id,
                created_at=now,
                expires_at=expires,
                data={
                    "sealed": totp.seal(
                        runtime.settings.secret(), secret, bound_to=f"enrolment:{id_hash}"
                    )
                },
            )
        )
    card = next((i.value for i in identifiers if i.kind == IdentifierKind.CARD), None)
    label = card or (account.id[:8] if account else "conta")
    issuer = totp.issuer_label(runtime.settings.organisation_name)
    uri = totp.provisioning_uri(secret, label, issuer)
    return TotpEnrolment(
        enrolment_id=token,
        secret=totp.grouped(secret),
        uri=uri,
        expires_at=expires,
        qr_svg=totp.qr_svg(uri, label="Código QR para o aplicativo autenticador"),
    )


async def confirm_totp(
    runtime: Runtime,
    current: sessions.SessionInfo,
    enrolment_id: str,
    code: str,
    context: RequestContext,
) -> list[str] | None:
    """Stores the secret once a first code proves it; returns the first recovery codes when the
    account had none."""
    require_recent(runtime, current)
    # Held after a recovery or a new device (docs/fraud-guard.md).
    await guard.require_no_hold(runtime, current.account_id, guard.SECOND_FACTOR)
    account_id = current.account_id
    now = utcnow()
    async with runtime.db.transaction() as session:
        try:
            flow = await flows.load(session, enrolment_id, FlowKind.TOTP_ENROLMENT)
        except GuaritaError as exc:
            raise GuaritaError(
                ErrorCode.ENROLMENT_EXPIRED,
                message=("O prazo para cadastrar o aplicativo terminou. Comece de novo."),
            ) from exc
        if flow.account_id != account_id or flow.state != ChallengeState.OPEN:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        if flow.attempts >= runtime.settings.codes.max_attempts:
            raise GuaritaError(
                ErrorCode.TOO_MANY_ATTEMPTS,
                message=(
                    "Você errou o código muitas vezes. Comece o cadastro do aplicativo de novo."
                ),
            )
        flow.attempts += 1
        sealed = flow.data["sealed"]
        id_hash = flow.id_hash
    secret = totp.unseal(runtime.settings.secret(), sealed, bound_to=f"enrolment:{id_hash}")
    step = totp.matching_step(secret, code, now=now)
    if step is None:
        raise GuaritaError(
            ErrorCode.INVALID_CODE,
            field="code",
            message=(
                "Código incorreto. Confira a hora do celular e digite o código que o aplicativo "
                "mostra agora."
            ),
        )
    who = principal(account_id)
    async with runtime.db.transaction() as session:
        won = await session.execute(
            update(Flow)
            .where(Flow.id_hash == id_hash, Flow.state == ChallengeState.OPEN)
            .values(state=ChallengeState.USED, completed_at=now)
        )
        if won.rowcount != 1:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        # The step of the confirming code is spent: it cannot also sign in.
        await credentials_repo.put(
            session,
            ACCOUNT,
            account_id,
            totp.CREDENTIAL,
            counter=step,
            now=now,
            data={
                "sealed": totp.seal(runtime.settings.secret(), secret, bound_to=totp.binding(who))
            },
        )
        codes = await first_codes(session, runtime, account_id, now)
        # The first code proved the app just now, in a recently authenticated session.
        await sessions.add_amr(session, current.id_hash, [totp.METHOD.amr, "mfa"])
        await record(
            session,
            AuditTag.SECOND_FACTOR_ENROLLED,
            subject=account_id,
            context=context,
            details={"method": totp.METHOD.id},
        )
        await trust.record_evidence(session, runtime.settings, account_id,
                                    EvidenceKind.SECOND_FACTOR, method=totp.METHOD.id,
                                    source="totp", context=context, now=now)
        await notify_change(session, runtime, account_id, "totp_enrolled", now)
    return codes


async def first_codes(
    session: AsyncSession, runtime: Runtime, account_id: str, now: datetime
) -> list[str] | None:
    if await credentials_repo.get(session, ACCOUNT, account_id, BACKUP) is not None:
        return None
    codes, data = recovery_codes.new_set(runtime.settings.secret(), principal(account_id))
    await credentials_repo.put(session, ACCOUNT, account_id, BACKUP, data=data, counter=0, now=now)
    await record(
        session, AuditTag.RECOVERY_CODES_GENERATED, subject=account_id, details={"first": True}
    )
    return codes


# -- recovery codes ---------------------------------------------------------------------------
async def regenerate_codes(
    runtime: Runtime, current: sessions.SessionInfo, context: RequestContext
) -> list[str]:
    """Ten new codes, shown once; the old set stops working in the same transaction."""
    require_recent(runtime, current)
    # Held after a recovery or a new device (docs/fraud-guard.md).
    await guard.require_no_hold(runtime, current.account_id, guard.RECOVERY_CODES)
    account_id = current.account_id
    now = utcnow()
    async with runtime.db.transaction() as session:
        if not await has_second_factor(session, account_id):
            raise GuaritaError(
                ErrorCode.METHOD_UNAVAILABLE,
                message=(
                    "Os códigos de recuperação servem para quem usa o aplicativo autenticador ou "
                    "uma chave de acesso. Cadastre um deles antes."
                ),
            )
        codes, data = recovery_codes.new_set(runtime.settings.secret(), principal(account_id))
        await credentials_repo.put(
            session, ACCOUNT, account_id, BACKUP, data=data, counter=0, now=now
        )
        await record(
            session, AuditTag.RECOVERY_CODES_GENERATED, subject=account_id, context=context
        )
        await notify_change(session, runtime, account_id, "codes_generated", now)
    return codes


# -- removal ----------------------------------------------------------------------------------
async def _new_password_if_last(
    runtime: Runtime,
    account_id: str,
    remaining: set[str],
    password: str | None,
    confirmation: str | None,
) -> str | None:
    """When no second factor would remain and the password was shorter than a password alone
    must be, a new one of 15 characters (hashed) — or ``password_change_required``."""
    if remaining & set(FACTORS):
        return None
    async with runtime.db.read() as session:
        account = await accounts_repo.account(session, account_id)
        beneficiary = await accounts_repo.beneficiary_of(session, account)
        identifiers = await accounts_repo.identifiers_of(session, account_id)
        stored = await accounts_repo.password_of(session, account_id)
    if stored is not None and (stored.data or {}).get("single_factor_length"):
        return None
    if not password:
        raise GuaritaError(ErrorCode.PASSWORD_CHANGE_REQUIRED, field="new_password")
    if password != confirmation:
        raise GuaritaError(ErrorCode.PASSWORD_MISMATCH, field="new_password_confirmation")
    email = next((i.value for i in identifiers if i.kind == IdentifierKind.EMAIL), None)
    normalized = policy_for(runtime).check(
        password, person_words(runtime, beneficiary, email), field="new_password"
    )
    return await runtime.hasher.hash(normalized)


async def remove_factor(
    runtime: Runtime,
    current: sessions.SessionInfo,
    context: RequestContext,
    *,
    change: str,
    apply: Any,
    new_password: str | None,
    confirmation: str | None,
    details: dict[str, Any],
) -> None:
    """Runs ``apply(session, credentials)`` (which returns the types left) after the checks; a
    new password (when the last factor goes) is set in the same transaction."""
    require_recent(runtime, current)
    # Held after a recovery or a new device (docs/fraud-guard.md).
    await guard.require_no_hold(runtime, current.account_id, guard.SECOND_FACTOR)
    account_id = current.account_id
    async with runtime.db.read() as session:
        before = await held(session, account_id)
    hashed = await _new_password_if_last(
        runtime, account_id, await apply(None, before), new_password, confirmation
    )
    now = utcnow()
    async with runtime.db.transaction() as session:
        left = await apply(session, await held(session, account_id))
        if not left & set(FACTORS):
            await credentials_repo.remove(session, ACCOUNT, account_id, BACKUP)
        if hashed is not None:
            await accounts_repo.set_password(session, account_id, hashed, at=now, long_enough=True)
            await record(
                session,
                AuditTag.PASSWORD_CHANGED,
                subject=account_id,
                context=context,
                details={"during": "second_factor_removal"},
            )
        await record(
            session,
            AuditTag.SECOND_FACTOR_REMOVED,
            subject=account_id,
            context=context,
            details=details,
        )
        await notify_change(
            session, runtime, account_id, change if left & set(FACTORS) else "all_removed", now
        )


async def remove_totp(
    runtime: Runtime,
    current: sessions.SessionInfo,
    context: RequestContext,
    *,
    new_password: str | None = None,
    confirmation: str | None = None,
) -> None:
    async def apply(session: AsyncSession | None, types: set[str]) -> set[str]:
        if totp.CREDENTIAL not in types:
            raise GuaritaError(
                ErrorCode.NOT_FOUND, message="O aplicativo autenticador não está cadastrado."
            )
        if session is not None:
            await credentials_repo.remove(session, ACCOUNT, current.account_id, totp.CREDENTIAL)
        return types - {totp.CREDENTIAL}

    await remove_factor(
        runtime,
        current,
        context,
        change="totp_removed",
        apply=apply,
        new_password=new_password,
        confirmation=confirmation,
        details={"method": totp.METHOD.id},
    )


# -- the strong path: every second factor removed ---------------------------------------------
REPLACES = "replaces_second_factor"


def replace_on_completion(data: dict[str, Any] | None, *, by: str, **details: str) -> dict[str, Any]:
    """A recovery's data, marked so that completing it removes the second factors: strong
    evidence of identity (:data:`STRONG_EVIDENCE`) stands for the lost factor, but nothing
    changes until the person sets the new password (``recovery.complete``). Removing at the
    moment of the proof would let an attacker who knows the password ask the victim to "confirm
    at the bank" and strip the victim's factor without ever holding the recovery."""
    return {**(data or {}), REPLACES: {"by": by, **details}}


def replacement_of(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """What :func:`replace_on_completion` kept, or ``None``."""
    found = (data or {}).get(REPLACES)
    return dict(found) if isinstance(found, dict) else None


async def remove_all(
    session: AsyncSession,
    runtime: Runtime,
    account_id: str,
    context: RequestContext,
    *,
    by: str,
    details: dict[str, Any] | None = None,
    record_audit: bool = True,
) -> list[str]:
    """Removes every second factor and the recovery codes, in the caller's transaction, after a
    strong proof of identity (an in-person check by a supervisor; later a face or a bank): the
    one way back for someone who lost both the password and the second factor
    (SECURITY.md › Recovery). Ends every session and tells every contact.

    This is the seam for the strong methods to come: a method whose outcome carries strong
    evidence of identity (``EvidenceKind.FACE``, ``BANK``, ``IN_PERSON_DOCUMENT``, see
    :data:`STRONG_EVIDENCE`) may replace the second factor by calling this."""
    now = utcnow()
    types = await held(session, account_id)
    removed = sorted(types & {*FACTORS, BACKUP})
    if not removed:
        return []
    await credentials_repo.remove(session, ACCOUNT, account_id, *removed)
    await sessions.end_all(session, account_id, now=now)
    if record_audit:  # the desk records its own event, with the agent and the reason
        await record(
            session,
            AuditTag.SECOND_FACTOR_REMOVED,
            subject=account_id,
            context=context,
            details={**(details or {}), "removed": removed, "by": by},
        )
    await notify_change(session, runtime, account_id, "all_removed", now, by_desk=by == "support")
    return removed
