"""``guarita audit verify``: checks the hash chain of the audit log."""

from __future__ import annotations

import typer

from guarita.cli.common import JsonOption, console, print_json, run_async

app = typer.Typer(help="Registro de auditoria.", no_args_is_help=True)


@app.command()
def verify(as_json: bool = JsonOption) -> None:
    """Confere a corrente de hashes e aponta o primeiro evento adulterado."""
    from guarita.storage.audit import verify as verify_chain

    async def _run(runtime):  # noqa: ANN001, ANN202
        async with runtime.db.transaction() as session:
            return await verify_chain(session)

    report = run_async(_run)
    if as_json:
        print_json({"ok": report.ok, "checked": report.checked,
                    "first_broken_id": report.first_broken_id, "reason": report.reason})
    elif report.ok:
        console.print(f"[green]✓[/green] {report.checked} eventos conferidos; a corrente está íntegra.")
    else:
        console.print(
            f"[red]✗[/red] Evento {report.first_broken_id}: {report.reason} "
            f"({report.checked} eventos íntegros antes dele)."
        )
    if not report.ok:
        raise typer.Exit(1)
