"""The signed-in person's own account: what /conta and ``GET /api/v1/me`` show, and the
password change of ``POST /api/v1/me/password`` (docs/recovery.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from guarita.domain import identifiers as ids
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.identifiers import IdentifierKind
from guarita.runtime import Runtime
from guarita.services import app_logout, guard, second_factors, sessions
from guarita.services.devices import UNKNOWN, Device, place_of
from guarita.services.devices import device_of as device_of_agent
from guarita.services.notifications import notify_contacts
from guarita.services.reauthentication import confirm_password
from guarita.services.registration import (
    first_name,
    long_enough_alone,
    person_words,
    policy_for,
)
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.sign_in_sql import AccountRows
from guarita.storage.tables import AuditEvent
from guarita.storage.tables import Session as SessionRow
from guarita.storage.types import utcnow


@dataclass
class IdentifierView:
    id: int
    kind: str
    value: str
    display: str
    verified: bool
    login_enabled: bool
    source: str


@dataclass
class LoginEventView:
    at: datetime
    succeeded: bool
    ip: str | None
    device: str | None
    reason: str | None
    # What the history says: "Entrou", "Senha errada", "Entrada com CPF ainda não liberada"…
    # (the reason recorded by sign-in, and the identifier kind it concerned).
    kind: str | None = None
    browser: str | None = None  # "Chrome", "aplicativo": the page composes "Chrome no Android"
    system: str | None = None


@dataclass
class DeviceView:
    """A live session of the account: a phone or computer where the person is signed in."""

    handle: str  # the first 16 hex digits of the token's SHA-256: names it, proves nothing
    signed_in_at: datetime
    last_seen_at: datetime
    ip: str | None
    browser: str | None
    system: str | None
    current: bool
    # The device in parts the page puts in words (services/devices.py), and near which city,
    # when a local GeoIP database is configured.
    device: Device = UNKNOWN
    place: str | None = None


@dataclass
class AccountView:
    id: str
    name: str
    first_name: str
    social_name: str | None
    masked_cpf: str | None
    card_number: str | None
    trust_level: str
    legacy: bool
    identifiers: list[IdentifierView] = field(default_factory=list)
    recent_logins: list[LoginEventView] = field(default_factory=list)
    # The fraud guard's hold while it lasts (services/guard.py): Minha conta says it plainly.
    hold: guard.Hold | None = None

    def first(self, kind: str) -> IdentifierView | None:
        return next((i for i in self.identifiers if i.kind == kind), None)


def _display(kind: str, value: str) -> str:
    if kind == IdentifierKind.CPF:
        return ids.mask_cpf(value)
    if kind == IdentifierKind.PHONE:
        return ids.format_phone(value)
    return value


def device_parts(user_agent: str | None) -> tuple[str | None, str | None]:
    """(browser, system) of a browser string, names people recognise ("Chrome", "Android";
    "Safari", "iPhone"); "aplicativo" for the organisation's app. Brand names stay as they are
    in every language; pages translate the words around them (and "aplicativo")."""
    device = device_of_agent(user_agent)
    if device.kind == "app":
        return "aplicativo", None
    system = device.brand if device.brand in ("iPhone", "iPad", "Mac") else device.system
    return device.browser, system


def device_of(user_agent: str | None) -> str | None:
    """A plain name for a browser string: enough for a person to recognise their phone."""
    if not user_agent:
        return None
    parts = [p for p in device_parts(user_agent) if p]
    return " no ".join(parts) if parts else user_agent[:40]


async def view(runtime: Runtime, account_id: str, *, with_logins: bool = True) -> AccountView:
    async with runtime.db.read() as session:
        account = await accounts_repo.account(session, account_id)
        if account is None:
            raise GuaritaError(ErrorCode.UNAUTHENTICATED)
        beneficiary = await accounts_repo.beneficiary_of(session, account)
        identifiers = await accounts_repo.identifiers_of(session, account_id)
        events = (await session.execute(
            select(AuditEvent)
            .where(AuditEvent.subject == account_id,
                   AuditEvent.tag.in_([AuditTag.LOGIN_SUCCEEDED.value, AuditTag.LOGIN_FAILED.value]))
            .order_by(AuditEvent.id.desc()).limit(10)
        )).scalars().all() if with_logins else []
    view = _view(account.id, account.trust_level, account.legacy, guard.active(account),
                 beneficiary.name if beneficiary else "",
                 beneficiary.social_name if beneficiary else None,
                 [(i.id, i.kind, i.value, i.verified_at, i.login_enabled, i.source)
                  for i in identifiers])
    view.recent_logins = [
            LoginEventView(e.created_at, e.tag == AuditTag.LOGIN_SUCCEEDED.value, e.ip,
                           device_of(e.user_agent), (e.details or {}).get("reason"),
                           (e.details or {}).get("kind"), *device_parts(e.user_agent))
            for e in events
    ]
    return view


def view_of(rows: AccountRows) -> AccountView:
    """The account as sign-in read it in its own transaction (no login history)."""
    return _view(rows.account_id, rows.trust_level, rows.legacy, guard.active(rows),
                 rows.name, rows.social_name, rows.identifiers)


def _view(account_id: str, trust_level: str, legacy: bool, hold: guard.Hold | None, name: str,
          social_name: str | None, identifiers: list[tuple]) -> AccountView:
    cpf = next((value for _, kind, value, *_ in identifiers if kind == IdentifierKind.CPF), None)
    card = next((value for _, kind, value, *_ in identifiers if kind == IdentifierKind.CARD), None)
    return AccountView(
        id=account_id, name=name, first_name=first_name(name, social_name),
        social_name=social_name,
        masked_cpf=ids.mask_cpf(cpf) if cpf else None, card_number=card,
        trust_level=trust_level, legacy=legacy, hold=hold,
        identifiers=[
            IdentifierView(id_, kind, value, _display(kind, value), verified_at is not None,
                           login_enabled, source)
            for id_, kind, value, verified_at, login_enabled, source in identifiers
        ],
    )


# -- devices: the live sessions of the account (Minha conta › Segurança) ----------------------
HANDLE_LENGTH = 16


def _live(account_id: str, now: datetime, idle_minutes: int):  # noqa: ANN202
    return (
        SessionRow.account_id == account_id, SessionRow.ended_at.is_(None),
        SessionRow.expires_at > now, SessionRow.last_seen_at > now - timedelta(minutes=idle_minutes),
    )


async def devices(runtime: Runtime, current: sessions.SessionInfo) -> list[DeviceView]:
    """Where the person is signed in now, this device first (SECURITY.md › Sessions)."""
    now = utcnow()
    async with runtime.db.read() as session:
        rows = (await session.execute(
            select(SessionRow).where(*_live(current.account_id, now,
                                            runtime.settings.session.idle_minutes))
            .order_by(SessionRow.last_seen_at.desc())
        )).scalars().all()
    geoip = runtime.settings.session.geoip_city_database
    found = [
        DeviceView(row.id_hash[:HANDLE_LENGTH], row.auth_time or row.created_at, row.last_seen_at,
                   row.ip, *device_parts(row.user_agent), current=row.id_hash == current.id_hash,
                   device=device_of_agent(row.user_agent), place=place_of(geoip, row.ip))
        for row in rows
    ]
    return sorted(found, key=lambda d: not d.current)


async def end_device(runtime: Runtime, current: sessions.SessionInfo, handle: str,
                     context: RequestContext) -> bool:
    """Ends one other session of the same account ("Encerrar"); False when there was none.
    The current session ends with "Sair" instead."""
    if len(handle) != HANDLE_LENGTH or not all(c in "0123456789abcdef" for c in handle):
        return False
    now = utcnow()
    which = (*_live(current.account_id, now, runtime.settings.session.idle_minutes),
             SessionRow.id_hash.startswith(handle), SessionRow.id_hash != current.id_hash)
    async with runtime.db.transaction() as session:
        ending = (await session.execute(select(SessionRow.id_hash).where(*which))).scalars().all()
        result = await session.execute(update(SessionRow).where(*which).values(ended_at=now))
        ended = result.rowcount or 0
        if ended:
            # The apps that signed in through that session are signed out of it too.
            told = await app_logout.tell_apps(session, [
                app_logout.EndedSession(app_logout.sid_of(h), current.account_id) for h in ending
            ])
            await record(session, AuditTag.LOGOUT, subject=current.account_id, context=context,
                         details={"ended_by": "owner", "sessions": ended, "other_device": True,
                                  "apps_told": told.backchannel})
    return bool(ended)


async def end_other_devices(runtime: Runtime, current: sessions.SessionInfo,
                            context: RequestContext) -> int:
    """"Sair de todos os outros": every session of the account but this one."""
    async with runtime.db.transaction() as session:
        ended = await sessions.end_all(session, current.account_id, keep=current.id_hash)
        if ended:
            await record(session, AuditTag.LOGOUT, subject=current.account_id, context=context,
                         details={"ended_by": "owner", "sessions": ended, "other_device": True})
    return ended


async def change_password(
    runtime: Runtime, current: sessions.SessionInfo, current_password: str, new_password: str,
    confirmation: str, context: RequestContext,
) -> None:
    """Requires the current password; ends every other session; notifies the contacts."""
    account_id = current.account_id
    await confirm_password(runtime, current, current_password, context, field="current_password")
    async with runtime.db.transaction() as session:
        account = await accounts_repo.account(session, account_id)
        beneficiary = await accounts_repo.beneficiary_of(session, account)
        identifiers = await accounts_repo.identifiers_of(session, account_id)
    email = next((i.value for i in identifiers if i.kind == IdentifierKind.EMAIL), None)
    context_words = person_words(runtime, beneficiary, email)
    if new_password != confirmation:
        raise GuaritaError(ErrorCode.PASSWORD_MISMATCH, field="password_confirmation")
    async with runtime.db.read() as session:
        with_factor = await second_factors.has_second_factor(session, account_id)
    password = policy_for(runtime, second_factor=with_factor).check(new_password, context_words)
    hashed = await runtime.hasher.hash(password)
    now = utcnow()
    async with runtime.db.transaction() as session:
        await accounts_repo.set_password(session, account_id, hashed, at=now,
                                         long_enough=long_enough_alone(runtime, password))
        ended = await sessions.end_all(session, account_id, keep=current.id_hash, now=now)
        await record(session, AuditTag.PASSWORD_CHANGED, subject=account_id, context=context,
                     details={"other_sessions_ended": ended})
        await notify_contacts(session, runtime.settings, account_id, "password_changed",
                              first_name=first_name(beneficiary.name if beneficiary else None,
                                         beneficiary.social_name if beneficiary else None),
                              when=runtime.settings.local_time(now))
