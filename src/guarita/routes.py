"""The list of routers, one line per capability (house style 2: adding one is a line here)."""

from __future__ import annotations

from fastapi import APIRouter

from guarita.config import Settings


def routers(settings: Settings) -> list[APIRouter]:
    from guarita.api import accounts, meta, recovery
    from guarita.web import account_pages, contact_pages, recovery_pages

    found: list[APIRouter] = [
        meta.router, accounts.router, recovery.router, account_pages.router, recovery_pages.router,
        contact_pages.router,
    ]
    from guarita.console import routers as support_desk  # issue 6
    found.extend(support_desk())
    from guarita.oidc import endpoints as oidc  # issue 5
    found.insert(0, oidc.router)  # first: the hot endpoints match before ~80 other routes
    if settings.dev_routes:
        from guarita.web import dev_outbox

        found.append(dev_outbox.router)
    return found
