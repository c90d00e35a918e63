"""Interactions: an authorization request parked while the person signs in or consents.

node-oidc-provider's model (``lib/models/interaction.js``): the authorization endpoint
validates the request once, stores what it validated with an expiry, and sends the browser to
the sign-in page with a way back (``/oauth/authorize/resume?interaction=<id>``). The
interaction is bound to the browser that started it by a cookie (its SHA-256 is stored), and is
completed once: a second resume of the same interaction finds it spent.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.storage.oidc_tables import OidcInteraction
from guarita.storage.types import utcnow

RESUME_PATH = "/oauth/authorize/resume"


def browser_cookie(secure: bool) -> str:
    """The cookie that binds an interaction to its browser (``__Host-`` under https)."""
    return "__Host-guarita_oidc" if secure else "guarita_oidc"


def new_browser_token() -> str:
    return secrets.token_urlsafe(24)


def _hash(browser_token: str) -> str:
    return hashlib.sha256(browser_token.encode()).hexdigest()


async def create(
    session: AsyncSession,
    *,
    client_id: str,
    params: dict,
    browser_token: str,
    ttl: timedelta,
    now: datetime | None = None,
) -> OidcInteraction:
    now = now or utcnow()
    row = OidcInteraction(
        id=secrets.token_urlsafe(24),
        client_id=client_id,
        params=params,
        browser_hash=_hash(browser_token),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    # Expired interactions are useless; sweeping a few here keeps the table small without a job.
    await session.execute(
        delete(OidcInteraction).where(OidcInteraction.expires_at < now - timedelta(hours=1))
    )
    return row


async def load(
    session: AsyncSession,
    interaction_id: str | None,
    browser_token: str | None,
    now: datetime | None = None,
) -> OidcInteraction | None:
    """The live interaction of this browser, or None (unknown, expired, spent, other browser)."""
    if not interaction_id or not browser_token or len(interaction_id) > 64:
        return None
    row = await session.get(OidcInteraction, interaction_id)
    now = now or utcnow()
    if row is None or row.completed_at is not None or row.expires_at <= now:
        return None
    if not secrets.compare_digest(row.browser_hash, _hash(browser_token)):
        return None
    return row


async def complete(session: AsyncSession, interaction_id: str, now: datetime | None = None) -> bool:
    """Spends the interaction; False when another request spent it first (exactly one winner)."""
    result = await session.execute(
        update(OidcInteraction)
        .where(OidcInteraction.id == interaction_id, OidcInteraction.completed_at.is_(None))
        .values(completed_at=now or utcnow())
    )
    return bool(result.rowcount)
