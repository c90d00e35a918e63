"""Support API tokens (docs/support-desk.md › The support API): 256-bit values prefixed ``gst_``,
stored as SHA-256 with their scopes, expiry, creator and revocation time; the value is shown once,
at creation. Scopes are the permissions of ``domain/roles.py``, never staff or token management."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.roles import parse_scopes
from guarita.runtime import Runtime
from guarita.services.staff.common import TOUCH_EVERY, sha256
from guarita.storage.audit import RequestContext, record
from guarita.storage.support_tables import SupportApiToken
from guarita.storage.types import utcnow

TOKEN_PREFIX = "gst_"  # noqa: S105 - a prefix, not a secret


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
            message=Message.TOKEN_NAME_REQUIRED,
        )
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="scopes", message=f"Escopos inválidos: {exc}.") from exc
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
        rows = (await session.execute(select(SupportApiToken).order_by(SupportApiToken.id.desc()))).scalars().all()
    return [TokenView.of(row) for row in rows]


async def revoke_token(runtime: Runtime, token_id: int, *, actor: str, context: RequestContext) -> TokenView:
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = await session.get(SupportApiToken, token_id)
        if row is None:
            raise GuaritaError(ErrorCode.NOT_FOUND, message=Message.TOKEN_NOT_FOUND)
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


async def authenticate_token(runtime: Runtime, raw: str | None, *, crm_agent: str | None = None) -> Actor | None:
    """The actor of a live support API token, or None (unknown, expired and revoked alike)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 128:
        return None
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = (
            await session.execute(select(SupportApiToken).where(SupportApiToken.token_hash == sha256(raw)))
        ).scalar_one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            row.last_used_at = now
        return Actor(
            kind="token",
            id=row.id,
            name=row.name,
            via="api",
            scopes=frozenset(row.scopes or []),
            crm_agent=crm_agent,
        )
