"""``guarita outbox list``, ``retry`` and ``retention`` (``cli/retention.py``): looking after
the message queue.

Message texts carry one-time codes; in production they never leave the database through this
command (``--show-text`` is refused), only the subject, the status and the last error.
"""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.table import Table

from guarita.cli import retention
from guarita.cli.common import CliError, JsonOption, console, print_json, run_async, settings
from guarita.domain.accounts import Channel

app = typer.Typer(
    help="Fila de mensagens (e-mail, SMS e avisos de saída aos aplicativos).", no_args_is_help=True
)
app.command("retention")(retention.command("outbox"))
# "logout": a back-channel logout notice to an app (OpenID Connect Back-Channel Logout 1.0).
CHANNEL_LABELS = {Channel.EMAIL: "e-mail", Channel.SMS: "SMS", "logout": "saída (app)"}


class Status(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


@app.command("list")
def list_command(
    status: Status | None = typer.Option(None, "--status", help="Só mensagens nesta situação."),
    limit: int = typer.Option(50, "--limit", min=1, max=10000, help="Quantas, das mais novas."),
    show_text: bool = typer.Option(
        False, "--show-text", help="Mostra o texto das mensagens (fora de produção)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Lista as mensagens da fila, das mais novas para as mais antigas."""
    from guarita.messaging.outbox import STATUS_LABELS, as_dict, list_messages

    cfg = settings()
    if show_text and cfg.production:
        raise CliError(
            "--show-text não é permitido em produção: as mensagens contêm códigos de acesso."
        )

    async def _run(runtime):  # noqa: ANN001, ANN202
        async with runtime.db.transaction() as session:
            found = await list_messages(
                session, status=str(status) if status else None, limit=limit
            )
            return [as_dict(m, with_text=show_text) for m in found]

    rows = run_async(_run, cfg)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("Nenhuma mensagem na fila" + (f" com situação {status}." if status else "."))
        return
    table = Table(title=f"Mensagens ({len(rows)})", show_lines=show_text)
    for header, short in (("Nº", True), ("Canal", True), ("Para", False), ("Assunto", False),
                          ("Criada em (UTC)", False), ("Situação", True), ("Tentativas", True),
                          ("Último erro", False)):
        table.add_column(header, overflow="fold", no_wrap=short)
    if show_text:
        table.add_column("Texto", overflow="fold")
    for row in rows:
        cells = [
            str(row["id"]), CHANNEL_LABELS.get(row["channel"], row["channel"]), row["to"],
            row["subject"] or "—", row["created_at"][:19].replace("T", " "),
            STATUS_LABELS.get(row["status"], row["status"]), str(row["attempts"]),
            row["last_error"] or "",
        ]
        if show_text:
            cells.append(row["text"])
        table.add_row(*cells)
    console.print(table)


@app.command()
def retry(
    message_id: int = typer.Argument(..., metavar="ID", help="Número da mensagem que falhou."),
    as_json: bool = JsonOption,
) -> None:
    """Devolve à fila uma mensagem que falhou, com novas tentativas."""
    from guarita.messaging.outbox import NotRetryable, retry_failed

    async def _run(runtime):  # noqa: ANN001, ANN202
        async with runtime.db.transaction() as session:
            await retry_failed(session, message_id)

    try:
        run_async(_run)
    except NotRetryable as exc:
        raise CliError(str(exc)) from None
    if as_json:
        print_json({"id": message_id, "status": "pending"})
    else:
        console.print(f"[green]✓[/green] A mensagem {message_id} voltou para a fila.")
