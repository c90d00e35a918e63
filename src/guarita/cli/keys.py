"""``guarita keys rotate | list``: the provider's signing keys (OpenID Connect Core §10.1.1)."""

from __future__ import annotations

import typer
from rich.table import Table

from guarita.cli.common import JsonOption, console, print_json, run_async

app = typer.Typer(help="Chaves de assinatura dos tokens (OpenID Connect).", no_args_is_help=True)


@app.command("rotate")
def rotate(
    now: bool = typer.Option(
        False,
        "--now",
        help="Assina com a chave nova já (use só se a antiga vazou: tokens "
        "assinados com a nova podem falhar em quem ainda guarda o JWKS antigo).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Cria chaves novas (RS256 e ES256); as antigas saem do JWKS quando seus tokens expiram."""
    from guarita.oidc import keys
    from guarita.oidc.events import OidcEvent
    from guarita.storage.audit import RequestContext, record

    async def _run(runtime):  # noqa: ANN001, ANN202
        changes = await keys.rotate(runtime, immediately=now)
        async with runtime.db.transaction() as session:
            await record(
                session,
                OidcEvent.KEYS_ROTATED,
                context=RequestContext(actor="cli"),
                details={"changes": changes},
            )
        return changes

    changes = run_async(_run)
    if as_json:
        print_json(changes)
        return
    for change in changes:
        if change.get("deleted"):
            console.print(f"  removida: {change['kid']}", highlight=False)
        else:
            console.print(
                f"[green]✓[/green] nova chave {change['alg']} {change['kid']} "
                f"(assina a partir de {change['active_from']})",
                highlight=False,
            )


@app.command("list")
def list_command(as_json: bool = JsonOption) -> None:
    """Lista as chaves (só as partes públicas)."""
    from guarita.oidc import keys

    found = run_async(keys.describe)
    if as_json:
        print_json(found)
        return
    table = Table("kid", "alg", "assina desde", "substituída em")
    for k in found:
        table.add_row(k["kid"], k["alg"], k["active_from"], k["superseded_at"] or "—")
    console.print(table)
