"""Server-side sessions (SECURITY.md › Sessions and cookies; OWASP Session Management).

One mechanism for beneficiaries and desk members, parametrised by a :class:`SessionPolicy`
(idle and absolute lifetimes, cookie name) and the principal kind: one ``sessions`` table, each
row owned by an account or a staff member, and a token of one kind never loads as the other.

The token handed to the browser or app is 256 random bits; only its SHA-256 is stored, so a
copy of the database cannot be replayed as a cookie. A session ends at the idle timeout
(30 min for people, 15 for the desk), at the absolute timeout (12 h), at sign-out and when the
password changes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import SessionPolicy
from guarita.domain.accounts import PrincipalKind
from guarita.domain.audit_tags import AuditTag
from guarita.services.app_logout import AppsTold, EndedSession, sid_of, tell_apps
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Session
from guarita.storage.types import utcnow

# Writing last_seen_at on every request would turn every page view into a write; a minute of
# slack on a 30-minute idle timeout is harmless.
TOUCH_EVERY = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_name(policy: SessionPolicy, *, secure: bool) -> str:
    """``__Host-`` when the cookie is Secure: browsers refuse that prefix on plain http."""
    return f"__Host-{policy.cookie}" if secure else policy.cookie


@dataclass(frozen=True)
class SessionInfo:
    id_hash: str
    account_id: str | None  # the owner when ``principal_kind`` is account
    csrf_token: str
    auth_time: datetime
    amr: tuple[str, ...]
    expires_at: datetime
    idle_expires_at: datetime
    reauth_at: datetime | None = None
    principal_kind: str = PrincipalKind.ACCOUNT
    staff_id: int | None = None

    @property
    def sid(self) -> str:
        """The OpenID ``sid`` claim: an identifier of the session that reveals nothing."""
        return sid_of(self.id_hash)


def _info(row: Session, policy: SessionPolicy) -> SessionInfo:
    idle_end = row.last_seen_at + timedelta(minutes=policy.idle_minutes)
    return SessionInfo(
        id_hash=row.id_hash, account_id=row.account_id, csrf_token=row.csrf_token,
        auth_time=row.auth_time, amr=tuple(row.amr or ()),
        expires_at=min(row.expires_at, idle_end), idle_expires_at=idle_end,
        reauth_at=row.reauth_at, principal_kind=row.principal_kind or PrincipalKind.ACCOUNT,
        staff_id=row.staff_id,
    )


def _owner(kind: str, owner: str | int) -> dict[str, Any]:
    if kind == PrincipalKind.STAFF:
        return {"principal_kind": "staff", "account_id": None, "staff_id": int(owner)}
    return {"principal_kind": "account", "account_id": str(owner), "staff_id": None}


def _owned_by(kind: str, owner: str | int):  # noqa: ANN202
    if kind == PrincipalKind.STAFF:
        return Session.staff_id == int(owner)
    return Session.account_id == str(owner)


async def create(
    session: AsyncSession, owner: str | int, policy: SessionPolicy, context: RequestContext,
    amr: list[str] | None = None, now: datetime | None = None,
    *, kind: str = PrincipalKind.ACCOUNT,
) -> tuple[str, SessionInfo]:
    """A new session with a new id (never reuses one: session fixation, OWASP)."""
    token, values, info = new_session(owner, policy, context, amr, now, kind=kind)
    # Core insert: one per sign-in, the ORM unit of work adds nothing here.
    await session.execute(insert(Session), [values])
    return token, info


def new_session(
    owner: str | int, policy: SessionPolicy, context: RequestContext,
    amr: list[str] | None = None, now: datetime | None = None,
    *, kind: str = PrincipalKind.ACCOUNT,
) -> tuple[str, dict[str, Any], SessionInfo]:
    """The token, the ``sessions`` row and what it means, before it is written (:func:`create`
    writes it; sign-in's plain-SQL body writes it with ``sign_in_sql.insert_session``)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    values = dict(
        id_hash=hash_token(token), **_owner(kind, owner), csrf_token=secrets.token_urlsafe(24),
        created_at=now, last_seen_at=now, auth_time=now,
        expires_at=now + timedelta(hours=policy.absolute_hours), amr=amr or ["pwd"],
        ip=context.ip, user_agent=(context.user_agent or "")[:255] or None, reauth_at=None,
        ended_at=None,
    )
    idle_end = now + timedelta(minutes=policy.idle_minutes)
    info = SessionInfo(
        id_hash=values["id_hash"], account_id=values["account_id"],
        csrf_token=values["csrf_token"], auth_time=now, amr=tuple(values["amr"]),
        expires_at=min(values["expires_at"], idle_end), idle_expires_at=idle_end,
        reauth_at=None, principal_kind=values["principal_kind"], staff_id=values["staff_id"],
    )
    return token, values, info


async def keep_auth_time(session: AsyncSession, info: SessionInfo, auth_time: datetime,
                         policy: SessionPolicy) -> SessionInfo:
    """Sets the session's ``auth_time`` to when the person first signed in: a step-up adds a
    factor to a sign-in, it is not a new one (OpenID Connect Core §2 ``auth_time``)."""
    await session.execute(update(Session).where(Session.id_hash == info.id_hash)
                          .values(auth_time=auth_time))
    return replace(info, auth_time=auth_time)


async def add_amr(session: AsyncSession, id_hash: str, values: list[str]) -> None:
    """Adds methods proven during the session (a second factor enrolled and proven by its first
    use), so a portal asking for them need not send the person through them twice."""
    row = await session.get(Session, id_hash)
    if row is not None:
        row.amr = list(dict.fromkeys([*(row.amr or []), *values]))


async def load(
    session: AsyncSession, token: str | None, policy: SessionPolicy, now: datetime | None = None,
    *, kind: str = PrincipalKind.ACCOUNT,
) -> SessionInfo | None:
    """The live session of ``kind`` for ``token``, touching its idle clock; None if absent,
    expired, or another kind's (a desk cookie is no beneficiary session, and the reverse)."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    row = await session.get(Session, hash_token(token))
    if row is None or row.ended_at is not None or (row.principal_kind or "account") != kind:
        return None
    if row.expires_at <= now or row.last_seen_at + timedelta(minutes=policy.idle_minutes) <= now:
        row.ended_at = now
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return _info(row, policy)


async def end(session: AsyncSession, id_hash: str, now: datetime | None = None) -> None:
    await session.execute(
        update(Session).where(Session.id_hash == id_hash, Session.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )


# Work a caller adds to a sign-out in the same transaction (OpenID logout revokes the grants made
# under the session); returns details for the audit record.
AlsoOnSignOut = Callable[[AsyncSession], Awaitable[dict[str, Any]]]


@dataclass
class SignedOut:
    """What a sign-out did: whether a session ended, and the front-channel logout frames the
    browser should load now (Front-Channel Logout 1.0 §4), each with ``iss`` and ``sid``."""

    ended: bool
    frontchannel: list[str]

    def __bool__(self) -> bool:
        return self.ended


async def sign_out(
    runtime: Any, current: SessionInfo | None, context: RequestContext, *,
    details: dict[str, Any] | None = None, also: AlsoOnSignOut | None = None,
    actor: str | None = None,
) -> SignedOut:
    """Ends ``current`` on the server and audits it: the one sign-out of the page, the API,
    OpenID RP-initiated logout and the desk's console (SECURITY.md › Sessions: sign-out ends
    sessions on the server). The apps that signed in through it are told (Back-Channel and
    Front-Channel Logout 1.0). False when there was nothing to end."""
    if current is None:
        return SignedOut(False, [])
    staff = current.principal_kind == PrincipalKind.STAFF
    told = await sign_out_session(runtime, current.id_hash, current.principal_kind,
                                  current.staff_id if staff else current.account_id, context,
                                  details=details, also=also, actor=actor)
    return SignedOut(True, told.frontchannel)


async def sign_out_session(
    runtime: Any, id_hash: str, kind: str, owner: str | int | None, context: RequestContext, *,
    details: dict[str, Any] | None = None, also: AlsoOnSignOut | None = None,
    actor: str | None = None,
) -> AppsTold:
    """:func:`sign_out` for a caller that holds the session's id and owner, not its info."""
    staff = kind == PrincipalKind.STAFF
    told = AppsTold()
    async with runtime.db.transaction() as session:
        await end(session, id_hash)
        if not staff and owner is not None:
            told = await tell_apps(session, [EndedSession(sid_of(id_hash), str(owner))],
                                   issuer=runtime.settings.base_url.rstrip("/"))
        extra = await also(session) if also is not None else {}
        found = {**(details or {}), **extra}
        if told.backchannel:
            found["apps_told"] = told.backchannel
        await record(session, AuditTag.STAFF_LOGOUT if staff else AuditTag.LOGOUT,
                     subject=f"staff:{owner}" if staff else owner, context=context,
                     actor=actor, details=found or None)
    return told


async def end_all(
    session: AsyncSession, owner: str | int, *, keep: str | None = None,
    now: datetime | None = None, kind: str = PrincipalKind.ACCOUNT,
) -> int:
    """Ends every live session of the owner except ``keep`` (a password change keeps its own).

    For a person's account it also ends every token the apps hold, and tells the apps each
    ended session signed into (Back-Channel Logout 1.0 §2.5): a password change, a recovery, a
    lock and a disable must reach the apps too (SECURITY.md › Sessions and cookies).
    """
    which = [_owned_by(kind, owner), Session.ended_at.is_(None)]
    if keep:
        which.append(Session.id_hash != keep)
    if kind == PrincipalKind.ACCOUNT:
        await accounts_repo.end_app_tokens(session, str(owner), now or utcnow())
        ending = (await session.execute(select(Session.id_hash).where(*which))).scalars().all()
        await tell_apps(session, [EndedSession(sid_of(h), str(owner)) for h in ending])
    result = await session.execute(update(Session).where(*which).values(ended_at=now or utcnow()))
    return result.rowcount or 0


async def mark_reauthenticated(session: AsyncSession, id_hash: str, now: datetime | None = None) -> None:
    await session.execute(update(Session).where(Session.id_hash == id_hash).values(reauth_at=now or utcnow()))


async def recent(session: AsyncSession, account_id: str, limit: int = 10) -> list[Session]:
    return list(
        (await session.execute(
            select(Session).where(Session.account_id == account_id)
            .order_by(Session.created_at.desc()).limit(limit)
        )).scalars()
    )
