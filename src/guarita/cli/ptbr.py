"""The command line in pt-BR: typer's help texts and click's usage errors.

typer (and the click it carries) speaks English and has no catalogue of its own: its panel
titles are module constants and its messages are built in its exceptions. Operators of a
Brazilian organisation read pt-BR, so this module sets the constants once at start-up and
turns every usage error into one pt-BR line (``usage_error``) — never a traceback or a box.
"""

from __future__ import annotations

from typing import Any

import typer
from typer import rich_utils
from typer._click import core as click_core
from typer._click import exceptions as click_errors
from typer._click import formatting as click_formatting

HELP_OPTION = "Mostra esta mensagem e sai."
USAGE_PREFIX = "Uso: "

_TEXTS = {
    "DEPRECATED_STRING": "(obsoleto) ",
    "DEFAULT_STRING": "[padrão: {}]",
    "ENVVAR_STRING": "[variável: {}]",
    "REQUIRED_LONG_STRING": "[obrigatório]",
    "ARGUMENTS_PANEL_TITLE": "Argumentos",
    "OPTIONS_PANEL_TITLE": "Opções",
    "COMMANDS_PANEL_TITLE": "Comandos",
    "ERRORS_PANEL_TITLE": "Erro",
    "ABORTED_TEXT": "Cancelado.",
    "RICH_HELP": "Veja '{command_path} {help_option}'.",
}

USAGE_ERRORS: tuple[type[Exception], ...] = (click_errors.UsageError,)
try:  # the real click too, should a command come from a click-based plug-in
    import click

    USAGE_ERRORS += (click.exceptions.UsageError,)
except ImportError:  # pragma: no cover - click is a dependency of typer's extras
    pass


def install() -> None:
    """Sets typer's texts to pt-BR (idempotent)."""
    for name, text in _TEXTS.items():
        setattr(rich_utils, name, text)
    if getattr(click_core.Command.get_help_option, "_ptbr", False):
        return
    original_help_option = click_core.Command.get_help_option
    original_usage = click_formatting.HelpFormatter.write_usage

    def get_help_option(self: Any, ctx: Any) -> Any:
        option = original_help_option(self, ctx)
        if option is not None:
            option.help = HELP_OPTION
        return option

    def write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        args = args.replace("[OPTIONS]", "[OPÇÕES]").replace("COMMAND [ARGS]", "COMANDO [ARGS]")
        original_usage(self, prog, args, USAGE_PREFIX if prefix is None else prefix)

    get_help_option._ptbr = True  # type: ignore[attr-defined]
    click_core.Command.get_help_option = get_help_option
    click_formatting.HelpFormatter.write_usage = write_usage


def _option(error: Exception) -> str:
    hint = getattr(error, "param_hint", None)
    param = getattr(error, "param", None)
    if hint is None and param is not None:
        hint = " / ".join(getattr(param, "opts", None) or [getattr(param, "name", "") or ""])
    if hint is None:
        hint = getattr(error, "option_name", "") or ""
    if not isinstance(hint, str):
        hint = " / ".join(hint)
    return hint


def usage_error(error: Exception) -> str:
    """One pt-BR line for a usage error, with the command to get help."""
    kind = type(error).__name__
    option = _option(error)
    message = str(getattr(error, "message", "") or error)
    if kind == "NoSuchOption":
        text = f"opção desconhecida: {option}."
        possible = getattr(error, "possibilities", None)
        if possible:
            text += f" Quis dizer {', '.join(sorted(possible))}?"
    elif kind == "MissingParameter":
        what = "o argumento" if getattr(error, "param_type", None) == "argument" or (
            getattr(getattr(error, "param", None), "param_type_name", "") == "argument"
        ) else "a opção"
        text = f"falta {what} obrigatória {option}.".replace("o argumento obrigatória",
                                                             "o argumento obrigatório")
    elif kind == "BadOptionUsage" and "requires an argument" in message:
        text = f"a opção {option} precisa de um valor."
    elif kind == "BadParameter":
        text = f"valor inválido para {option}" + (
            " (deve ser um número inteiro)." if "integer" in message else f": {message}."
        )
    elif "Got unexpected extra argument" in message:
        extra = message.partition("(")[2].rstrip(")")
        text = f"argumento a mais: {extra}."
    elif "No such command" in message:
        name = message.split("'")[1] if message.count("'") >= 2 else message
        text = f"comando desconhecido: {name}."
    else:
        text = message
    ctx = getattr(error, "ctx", None)
    path = ctx.command_path if ctx is not None else "guarita"
    return f"Erro: {text} Veja: {path} --help"


__all__ = ["HELP_OPTION", "USAGE_ERRORS", "install", "usage_error", "typer"]
