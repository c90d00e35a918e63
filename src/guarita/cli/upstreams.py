"""``guarita upstreams add | list | disable | enable | remove``: banks and gov.br as identity
providers (``docs/upstreams.md``).

The client secret never goes on the command line (shell history, ``ps``): it is read from
``--client-secret-file`` or the ``GUARITA_UPSTREAM_SECRET`` environment variable, and stored
sealed. ``list`` never shows it.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import typer
from rich.table import Table

from guarita.cli.common import CliError, JsonOption, console, print_json, run_async
from guarita.storage.audit import RequestContext

app = typer.Typer(
    help="Provedores de identidade de fora: bancos credenciados e gov.br.",
    no_args_is_help=True,
)

SECRET_ENV = "GUARITA_UPSTREAM_SECRET"  # noqa: S105 - the name of a variable


def _operator() -> RequestContext:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "desconhecido"
    return RequestContext(actor=f"cli:{user}"[:64])


def _read_secret(path: Path | None) -> str | None:
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(f"Não foi possível ler o segredo em {path}: {exc.strerror}") from None
        if not text:
            raise CliError(f"O arquivo {path} está vazio.")
        return text
    from_env = os.environ.get(SECRET_ENV, "").strip()
    return from_env or None


def _guarded(call):  # noqa: ANN001, ANN202
    from guarita.services.upstreams import UpstreamConfigError

    try:
        return call()
    except UpstreamConfigError as exc:
        raise CliError(str(exc)) from None


@app.command("add")
def add(
    kind: str = typer.Option(..., "--kind", help="bank, govbr ou oidc."),
    name: str = typer.Option(..., "--name", help='Nome que as pessoas veem ("Banco Exemplo").'),
    issuer: str = typer.Option(..., "--issuer", help="O emissor (issuer) OpenID do provedor."),
    client_id: str = typer.Option(..., "--client-id", help="O client_id que o provedor deu."),
    code: str = typer.Option(None, "--code", help="Código COMPE do banco (ex.: 001): amr bank001."),
    auth_method: str = typer.Option(
        "client_secret_basic", "--auth-method",
        help="client_secret_basic, client_secret_post ou private_key_jwt."),
    client_secret_file: Path = typer.Option(
        None, "--client-secret-file",
        help=f"Arquivo com o segredo (ou a variável {SECRET_ENV}); nunca na linha de comando."),
    scopes: str = typer.Option(None, "--scopes", help='Escopos (padrão do banco: "openid cpf").'),
    cpf_claim: str = typer.Option(None, "--cpf-claim",
                                  help="Claim que traz o CPF (banco: cpf; gov.br: sub)."),
    logo: Path = typer.Option(None, "--logo", help="Logotipo PNG ou JPEG (até 100 KB)."),
    require_par: bool = typer.Option(
        False, "--require-par", help="Usar PAR (RFC 9126) mesmo se o provedor não exigir."),
    provider_id: str = typer.Option(None, "--id", help="Identificador (padrão: do nome)."),
    as_json: bool = JsonOption,
) -> None:
    """Cadastra um provedor e mostra o id, o endereço de retorno e, com private_key_jwt, o
    endereço do JWKS para o cadastro no provedor."""
    from guarita.services import upstreams

    logo_bytes = None
    if logo is not None:
        try:
            logo_bytes = logo.read_bytes()
        except OSError as exc:
            raise CliError(f"Não foi possível ler o logotipo {logo}: {exc.strerror}") from None
    secret = None if auth_method == "private_key_jwt" else _read_secret(client_secret_file)
    spec = upstreams.ProviderSpec(
        kind=kind, name=name, issuer=issuer, client_id=client_id, auth_method=auth_method,
        client_secret=secret, code=code, scopes=scopes, cpf_claim=cpf_claim, logo=logo_bytes,
        require_par=require_par, id=provider_id)
    found = _guarded(lambda: run_async(lambda rt: upstreams.add(rt, spec, _operator())))
    if as_json:
        print_json(found)
        return
    console.print(f"[green]✓[/green] Provedor [bold]{found['name']}[/bold] cadastrado.")
    console.print(f"  id: [bold]{found['id']}[/bold]", highlight=False)
    console.print(f"  endereço de retorno (redirect_uri): {found['redirect_uri']}", highlight=False)
    if found["jwks_url"]:
        console.print(f"  JWKS (chave pública para o provedor): {found['jwks_url']}",
                      highlight=False)


@app.command("list")
def list_command(as_json: bool = JsonOption) -> None:
    """Lista os provedores (nunca mostra segredos)."""
    from guarita.services import upstreams

    found = run_async(upstreams.list_all)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("Nenhum provedor cadastrado. Use [bold]guarita upstreams add[/bold].")
        return
    table = Table("id", "tipo", "nome", "emissor", "autenticação", "vínculos", "situação")
    for p in found:
        table.add_row(p["id"], p["kind"], p["name"], p["issuer"], p["auth_method"],
                      str(p["links"]), "ativo" if p["enabled"] else "desativado")
    console.print(table)


def _switch(provider_id: str, enabled: bool, as_json: bool) -> None:
    from guarita.services import upstreams

    found = _guarded(lambda: run_async(
        lambda rt: upstreams.set_enabled(rt, provider_id, enabled, _operator())))
    if as_json:
        print_json(found)
    else:
        console.print(f"Provedor {provider_id} {'ativado' if enabled else 'desativado'}.")


@app.command("disable")
def disable(provider_id: str = typer.Argument(..., help="O id do provedor."),
            as_json: bool = JsonOption) -> None:
    """Deixa de oferecer o provedor (os vínculos ficam guardados)."""
    _switch(provider_id, False, as_json)


@app.command("enable")
def enable(provider_id: str = typer.Argument(..., help="O id do provedor."),
           as_json: bool = JsonOption) -> None:
    """Volta a oferecer um provedor desativado."""
    _switch(provider_id, True, as_json)


@app.command("remove")
def remove(provider_id: str = typer.Argument(..., help="O id do provedor."),
           as_json: bool = JsonOption) -> None:
    """Apaga o provedor, sua chave e os vínculos que ele confirmou."""
    from guarita.services import upstreams

    links = _guarded(lambda: run_async(
        lambda rt: upstreams.remove(rt, provider_id, _operator())))
    if as_json:
        print_json({"id": provider_id, "removed": True, "links_removed": links})
    else:
        console.print(f"Provedor {provider_id} apagado; {links} vínculos apagados.")
