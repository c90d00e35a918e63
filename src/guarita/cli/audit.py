"""``guarita audit verify``: checks the hash chain of the audit log; ``guarita audit retention``
(``cli/retention.py``)."""

from __future__ import annotations

import typer

from guarita.cli import retention
from guarita.cli.common import CliError, JsonOption, console, print_json, run_async

app = typer.Typer(help="Registro de auditoria.", no_args_is_help=True)
app.command("retention")(retention.command("audit"))


@app.command()
def verify(
    as_json: bool = JsonOption,
    anchor: str = typer.Option(
        None, "--anchor", metavar="SEQ:HASH",
        help="Âncora registrada nos logs (evento 'audit_anchor'): a corrente deve alcançá-la.",
    ),
) -> None:
    """Confere a corrente de hashes e aponta o primeiro evento adulterado."""
    from guarita.storage.audit import Anchor
    from guarita.storage.audit import verify as verify_chain

    try:
        expected = Anchor.parse(anchor) if anchor else None
    except ValueError as exc:
        raise CliError(f"--anchor inválida: {exc}") from None

    async def _run(runtime):  # noqa: ANN001, ANN202
        async with runtime.db.read() as session:
            return await verify_chain(session, anchor=expected)

    report = run_async(_run)
    if as_json:
        print_json({"ok": report.ok, "checked": report.checked,
                    "first_broken_id": report.first_broken_id, "reason": report.reason,
                    "anchor_checked": report.anchor_checked, "start_seq": report.start_seq})
    elif report.ok:
        reached = " e alcança a âncora" if report.anchor_checked else ""
        start = (f" (a partir do evento {report.start_seq}, ponto de partida da retenção)"
                 if report.start_seq is not None else "")
        console.print(
            f"[green]✓[/green] {report.checked} eventos conferidos{start}; "
            f"a corrente está íntegra{reached}."
        )
    else:
        console.print(
            f"[red]✗[/red] Evento {report.first_broken_id}: {report.reason} "
            f"({report.checked} eventos íntegros antes dele)."
        )
    if not report.ok:
        raise typer.Exit(1)
