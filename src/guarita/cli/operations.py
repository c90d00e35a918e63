"""``guarita check``: every problem of the configuration, the database and the data."""

from __future__ import annotations

import typer

from guarita.cli.common import JsonOption, console, print_json, run_async, settings


def register(app: typer.Typer) -> None:
    @app.command()
    def check(as_json: bool = JsonOption) -> None:
        """Confere a configuração e o banco de dados; sai com erro se algo estiver errado."""
        from guarita.services.deployment import problems as deployment_problems

        cfg = settings()
        problems = run_async(deployment_problems, cfg)
        deprecations = cfg.deprecations()
        if as_json:
            print_json(
                {
                    "env": str(cfg.env),
                    "ok": not problems,
                    "problems": problems,
                    "deprecations": deprecations,
                }
            )
            if problems:
                raise typer.Exit(1)
            return
        for notice in deprecations:  # still works; only a warning
            console.print(f"[yellow]![/yellow] {notice}", highlight=False)
        if problems:
            for problem in problems:
                console.print(f"[red]✗[/red] {problem}", highlight=False)
        else:
            console.print(f"[green]✓[/green] Configuração de {cfg.env} sem problemas.")
        if problems:
            raise typer.Exit(1)
