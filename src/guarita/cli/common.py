"""What every command shares: settings, the runtime, JSON output, friendly failures."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from guarita.config import Settings, explain, get_settings
from guarita.methods import registry
from guarita.runtime import Runtime

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)

JsonOption = typer.Option(False, "--json", help="Saída em JSON, para outros programas.")


class CliError(Exception):
    """An expected failure: printed as one line, exit code 1."""


def settings() -> Settings:
    cfg = get_settings()
    problems = registry.settings_problems(cfg)
    if problems:
        raise CliError(" ".join(problems))
    return cfg


def run_async(factory: Callable[[Runtime], Awaitable[T]], cfg: Settings | None = None) -> T:
    cfg = cfg or settings()

    async def _main() -> T:
        runtime = Runtime.build(cfg)
        try:
            return await factory(runtime)
        finally:
            await runtime.close()

    return asyncio.run(_main())


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _friendly(exc: BaseException) -> str | None:
    """One pt-BR line for failures a person can fix; None for real bugs."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError as SAArgumentError
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, CliError):
        return str(exc)
    if isinstance(exc, ValidationError):
        return explain(exc)
    if isinstance(exc, OperationalError | DBAPIError | ConnectionError | OSError) and not isinstance(
        exc, FileNotFoundError
    ):
        where = get_settings().database_url.split("@")[-1]
        first_line = str(exc).splitlines()[0][:200]
        return f"Não foi possível usar o banco de dados ({where}): {exc.__class__.__name__}: {first_line}"
    if isinstance(exc, SAArgumentError):
        return f"GUARITA_DATABASE_URL inválida: {exc}"
    if isinstance(exc, FileNotFoundError):
        return f"Arquivo não encontrado: {exc.filename}"
    return None


def run_guarded(app: typer.Typer) -> None:
    try:
        # standalone_mode=False hands back typer.Exit codes instead of exiting.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        errors.print("Cancelado.")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        # Ctrl-C is how people stop a command: a line, not a traceback (130: 128 + SIGINT).
        errors.print("Interrompido.")
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 - the edge of the program
        from guarita.cli import ptbr

        if isinstance(exc, ptbr.USAGE_ERRORS):
            errors.print(ptbr.usage_error(exc), highlight=False, markup=False, soft_wrap=True)
            raise SystemExit(2) from None
        exit_code = getattr(exc, "exit_code", None)
        if isinstance(exit_code, int) and hasattr(exc, "format_message"):  # click's own errors
            errors.print(f"Erro: {exc.format_message()}", highlight=False, markup=False,
                         soft_wrap=True)
            raise SystemExit(exit_code) from None
        message = _friendly(exc)
        if message is None:
            raise
        errors.print(f"[red]Erro:[/red] {message}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
