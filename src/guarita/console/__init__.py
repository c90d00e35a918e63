"""The support desk (central de atendimento): console at ``/atendimento`` and the support API at
``/api/v1/support`` (issue 6; docs/support-desk.md)."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from guarita.console import api, pages

    return [pages.router, api.router]
