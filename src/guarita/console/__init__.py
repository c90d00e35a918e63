"""The support desk (central de atendimento): console at ``/atendimento`` and the support API at
``/api/v1/support`` (docs/support-desk.md): thin adapters over ``services/support`` and
``services/staff``."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from guarita.console import (  # noqa: F401 - registers the staff and privacy pages
        api,
        pages,
        privacy_pages,
        staff_pages,
    )

    return [pages.router, api.router]
