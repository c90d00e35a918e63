"""Which application sent a person to the sign-in page, so the page can name it ("Para
continuar no Portal do Beneficiário").

The name is read from the parked authorization request itself (``oidc/interactions.py``): the
``next`` address of the sign-in page must be the resume address of a live interaction of this
very browser (the SHA-256 of its cookie is stored with the interaction). A link crafted
elsewhere, or another browser's interaction, names nothing — the page cannot be made to
announce an application the person did not come from. An edge helper shared by the sign-in
page (``web``) and the provider (``oidc``), which read the same cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from guarita.runtime import Runtime
from guarita.storage.oidc_tables import OidcClient, OidcInteraction
from guarita.storage.types import utcnow

RESUME_PATH = "/oauth/authorize/resume"


def browser_cookie(runtime: Runtime) -> str:
    """The cookie that binds an authorization request to the browser that made it."""
    return "__Host-guarita_oidc" if runtime.settings.secure_cookies else "guarita_oidc"


async def requesting_app(runtime: Runtime, next_path: str | None,
                         browser_token: str | None) -> str | None:
    """The registered name of the client whose authorization request waits, or None."""
    if not next_path or not browser_token:
        return None
    parts = urlsplit(next_path)
    if parts.scheme or parts.netloc or parts.path != RESUME_PATH:
        return None
    interaction_id = (parse_qs(parts.query).get("interaction") or [""])[0]
    if not interaction_id or len(interaction_id) > 64:
        return None
    async with runtime.db.read() as session:
        found = (await session.execute(
            select(OidcInteraction.browser_hash, OidcInteraction.expires_at,
                   OidcInteraction.completed_at, OidcClient.name, OidcClient.disabled_at)
            .join(OidcClient, OidcClient.id == OidcInteraction.client_id)
            .where(OidcInteraction.id == interaction_id)
        )).first()
    if found is None:
        return None
    browser_hash, expires_at, completed_at, name, disabled_at = found
    mine = hashlib.sha256(browser_token.encode()).hexdigest()
    if completed_at is not None or disabled_at is not None or expires_at <= utcnow():
        return None
    return name if secrets.compare_digest(browser_hash, mine) else None
