"""``guarita privacy export|erase --account ID``: the LGPD requests, for operators
(docs/privacy.md › Para operadores)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from guarita.cli.common import CliError, JsonOption, console, print_json, run_async

app = typer.Typer(help="Direitos do titular (LGPD art. 18): exportar e excluir.",
                  no_args_is_help=True)

AccountOption = typer.Option(..., "--account", metavar="ID", help="O id da conta (32 letras e números).")


@app.command()
def export(
    account: str = AccountOption,
    out: Path = typer.Option(None, "--out", help="Arquivo onde gravar o JSON (sem ele: a saída padrão)."),
) -> None:
    """Tudo o que a Guarita guarda sobre a pessoa, em JSON (o mesmo de Meus dados)."""
    from guarita.domain.errors import GuaritaError
    from guarita.services import my_data

    async def _run(runtime):  # noqa: ANN001, ANN202
        return await my_data.collect(runtime, account)

    try:
        data = run_async(_run)
    except GuaritaError:
        raise CliError(f"conta não encontrada: {account}") from None
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    out.chmod(0o600)  # personal data: readable by its owner only
    console.print(f"[green]✓[/green] Dados da conta gravados em {out}.", highlight=False)


@app.command()
def erase(
    account: str = AccountOption,
    reason: str = typer.Option(..., "--reason", help="Por que a conta é excluída (vai para a auditoria)."),
    as_json: bool = JsonOption,
) -> None:
    """Exclui a conta: modelo do rosto, sessões, contatos, credenciais e o cadastro; a auditoria
    fica, sem ligação com a pessoa. Não tem volta."""
    from guarita.domain.errors import GuaritaError
    from guarita.services import erasure
    from guarita.storage.audit import RequestContext

    if not reason.strip():
        raise CliError("informe o motivo com --reason")

    async def _run(runtime):  # noqa: ANN001, ANN202
        return await erasure.erase(runtime, account, by="cli", request_id=None,
                                   context=RequestContext(actor="cli"), reason=reason.strip())

    try:
        done = run_async(_run)
    except GuaritaError:
        raise CliError(f"conta não encontrada: {account}") from None
    if as_json:
        print_json({"account": done.account_id, "erased": True, "face_removed": done.face_removed,
                    "sessions_ended": done.sessions_ended,
                    "messages_dropped": done.messages_dropped})
    else:
        console.print(f"[green]✓[/green] Conta {done.account_id} excluída"
                      f"{' (com o modelo do rosto)' if done.face_removed else ''}; "
                      f"{done.sessions_ended} sessões encerradas.", highlight=False)
