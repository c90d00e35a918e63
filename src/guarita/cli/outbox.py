"""``guarita outbox list`` (filled in by the messaging work)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Fila de mensagens (e-mail e SMS).", no_args_is_help=True)
