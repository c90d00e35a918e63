"""``guarita import-beneficiaries`` and ``guarita demo`` (filled in by the registry work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
