"""``guarita import-beneficiaries FILE`` and ``guarita demo`` (docs/registry-import.md; DESIGN.md › Contracts).

Both print plain pt-BR for the operator and, with ``--json``, a machine-readable report. A file
that cannot be imported ends with one line and exit code 1; rejected rows do not: they are part
of a successful import's report (DESIGN.md › Contracts › Beneficiary CSV).
"""

from __future__ import annotations

import getpass
import sys
from contextlib import nullcontext
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from guarita.cli.common import CliError, JsonOption, console, print_json, run_async, settings
from guarita.domain.identifiers import format_cpf, format_phone, normalize_phone
from guarita.storage.audit import RequestContext

# Rejections and warnings shown on the terminal; --json lists up to registry_import.LISTED_MAX.
SHOWN_ON_TERMINAL = 20


def _operator() -> RequestContext:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        user = "desconhecido"
    return RequestContext(actor=f"cli:{user}"[:64])


def register(app: typer.Typer) -> None:
    @app.command("import-beneficiaries")
    def import_beneficiaries_command(
        file: str = typer.Argument(
            ..., metavar="ARQUIVO.csv", help="CSV do cadastro de beneficiários."
        ),
        photos: str | None = typer.Option(
            None, "--photos", metavar="PASTA",
            help="Pasta de fotos de referência (arquivos com o número da carteirinha, .jpg/.png).",
        ),
        as_json: bool = JsonOption,
    ) -> None:
        """Importa o cadastro de beneficiários (CSV UTF-8); pode ser repetido sem duplicar nada.

        Com a coluna opcional ``photo`` (caminho relativo ao CSV) ou ``--photos PASTA``, guarda
        também o modelo do rosto de cada pessoa para a validação facial (docs/face.md)."""
        from guarita.services.face_import import csv_has_photos, import_photos
        from guarita.services.registry_file import RegistryFileError
        from guarita.services.registry_import import import_beneficiaries

        show_progress = not as_json and sys.stdout.isatty()
        progress = _progress_bar() if show_progress else None

        async def _run(runtime):  # noqa: ANN001, ANN202
            with progress or nullcontext():
                callback = _callback(progress) if progress is not None else None
                report = await import_beneficiaries(
                    runtime, file, progress=callback, context=_operator()
                )
            photo_report = None
            if photos is not None or csv_has_photos(file):
                bar = _photo_bar() if show_progress else None
                with bar or nullcontext():
                    task = bar.add_task("fotos", total=None) if bar is not None else None

                    def advance(done: int, total: int) -> None:
                        if bar is not None:
                            bar.update(task, completed=done, total=total)

                    photo_report = await import_photos(runtime, file, photos, progress=advance,
                                                       context=_operator())
            return report, photo_report

        try:
            report, photo_report = run_async(_run)
        except RegistryFileError as exc:
            raise CliError(str(exc)) from None
        if as_json:
            found = report.as_json()
            if photo_report is not None:
                found["photos"] = photo_report.as_json()
            print_json(found)
            return
        _print_report(report)
        if photo_report is not None:
            _print_photo_report(photo_report)

    @app.command()
    def demo(
        if_empty: bool = typer.Option(
            False, "--if-empty", help="Só carrega se o cadastro de beneficiários estiver vazio."
        ),
        bank: bool = typer.Option(
            False, "--bank", help="Também sobe o Banco Exemplo (validação pelo banco) e fica "
            "servindo até Ctrl+C."),
        as_json: bool = JsonOption,
    ) -> None:
        """Carrega beneficiários fictícios para experimentar cada caminho (nunca em produção)."""
        from guarita.services.demo import DemoNotAllowed, demo_present, load_demo

        cfg = settings()
        if cfg.production:
            raise CliError(
                "A demonstração não pode ser carregada em produção (GUARITA_ENV=production)."
            )

        async def _run(runtime):  # noqa: ANN001, ANN202
            result = await load_demo(runtime, if_empty=if_empty, context=_operator())
            present = result.loaded or await demo_present(runtime)
            return result, present

        try:
            result, present = run_async(_run, cfg)
        except DemoNotAllowed as exc:
            raise CliError(str(exc)) from None
        if as_json and not bank:
            print_json(_demo_json(result, present))
            return
        if bank:
            if not present:
                raise CliError("O cadastro já tem beneficiários; a demonstração não foi carregada.")
            _serve_demo_bank(cfg)
            return
        if result.loaded:
            report = result.report
            # soft_wrap: the terminal wraps at its edge; rich would break the sentence at a
            # fixed width, in the middle of a path or a count.
            console.print(
                f"Demonstração carregada: {report.created} criados, {report.updated} atualizados, "
                f"{report.unchanged} sem mudança, {report.rejected} recusados.",
                highlight=False, soft_wrap=True,
            )
            console.print(f"Arquivo: {result.csv_path}", highlight=False, markup=False,
                          soft_wrap=True)
        elif present:
            console.print("A demonstração já estava carregada.")
        else:
            console.print(
                "O cadastro já tem beneficiários; a demonstração não foi carregada.",
                highlight=False,
            )
            return
        _print_demo_table(result.people, cfg.base_url)


def _serve_demo_bank(cfg) -> None:  # noqa: ANN001
    """Registers "Banco Exemplo" and a gov.br stand-in and serves both with node-oidc-provider
    until Ctrl+C."""
    import json
    import os
    import shutil
    import subprocess
    from pathlib import Path

    from guarita.services import demo_bank

    script = Path(__file__).resolve().parents[3] / "frontend" / "upstream-provider.mjs"
    if shutil.which("node") is None or not (script.parent / "node_modules" / "oidc-provider").is_dir():
        raise CliError("O banco de demonstração precisa do node e de frontend/node_modules "
                       "(rode make setup).")
    port = demo_bank.next_free_port(int(os.environ.get("GUARITA_DEMO_BANK_PORT", "8100")))
    govbr_port = demo_bank.next_free_port(port + 1)
    issuer, govbr_issuer = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{govbr_port}"
    client = run_async(lambda rt: demo_bank.register(rt, issuer, _operator()), cfg)
    govbr_client = run_async(lambda rt: demo_bank.register_govbr(rt, govbr_issuer, _operator()),
                             cfg)
    console.print(
        f"[bold]{demo_bank.DEMO_BANK_NAME}[/bold] em {issuer}\n"
        f"Em {cfg.base_url}/esqueci-minha-senha escolha “Validar pelo meu banco”; no banco, "
        f"entre com o CPF de uma pessoa da demonstração e a senha "
        f"[bold]{demo_bank.DEMO_BANK_PASSWORD}[/bold].\n"
        f"[bold]{demo_bank.DEMO_GOVBR_NAME}[/bold] em {govbr_issuer}\n"
        f"Em {cfg.base_url}/entrar escolha “Entrar com gov.br”; entre com o CPF e a senha "
        f"[bold]{demo_bank.DEMO_GOVBR_PASSWORD}[/bold]. Ctrl+C encerra os dois.",
        highlight=False, soft_wrap=True)
    common = {**os.environ, "CONTROL": "0", "NODE_ENV": "production"}
    # gov.br puts reliability_info in its ID token (scope govbr_confiabilidades_idtoken).
    govbr = subprocess.Popen(  # noqa: S603
        ["node", str(script)],  # noqa: S607
        env={**common, "PORT": str(govbr_port), "NAME": demo_bank.DEMO_GOVBR_NAME, "GOVBR": "1",
             "CPF_IN_ID_TOKEN": "1", "CLIENTS": json.dumps([govbr_client]),
             "ACCOUNTS": json.dumps(demo_bank.govbr_accounts())})
    env = {**common, "PORT": str(port), "NAME": demo_bank.DEMO_BANK_NAME,
           "CLIENTS": json.dumps([client]), "ACCOUNTS": json.dumps(demo_bank.bank_accounts()),
           "CPF_IN_ID_TOKEN": "0"}
    try:
        subprocess.run(["node", str(script)], env=env, check=False)  # noqa: S603, S607
    except KeyboardInterrupt:
        pass
    finally:
        govbr.terminate()
        govbr.wait(timeout=10)


# -- import output ------------------------------------------------------------------------------


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("Importando"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]} linhas"),
        TimeElapsedColumn(),
        TextColumn("falta"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _photo_bar() -> Progress:
    return Progress(TextColumn("Fotos de referência"), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), console=console, transient=True)


def _print_photo_report(report) -> None:  # noqa: ANN001
    table = Table(title="Fotos de referência (validação facial)", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    table.add_row("Criadas", _number(report.created))
    table.add_row("Atualizadas", _number(report.updated))
    table.add_row("Sem mudança", _number(report.unchanged))
    table.add_row("Recusadas", _number(report.rejected))
    console.print(table)
    notes = [f"{n.where}: carteirinha {n.card_number}: {n.reason}" for n in report.rejections]
    _print_notes("Fotos recusadas", notes, report.rejected)


def _callback(progress: Progress):  # noqa: ANN202
    task = progress.add_task("import", total=None, rows="0")

    def update(done: int, total: int, rows: int) -> None:
        progress.update(task, completed=done, total=total, rows=f"{rows:,}".replace(",", "."))

    return update


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _print_report(report) -> None:  # noqa: ANN001
    table = Table(title="Importação do cadastro de beneficiários", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    table.add_row("Criados", _number(report.created))
    table.add_row("Atualizados", _number(report.updated))
    table.add_row("Sem mudança", _number(report.unchanged))
    table.add_row("Recusados", _number(report.rejected))
    table.add_row("Avisos", _number(report.warned))
    table.add_row("Contas antigas criadas", _number(report.legacy_accounts_created))
    table.add_row("Senhas antigas atualizadas", _number(report.legacy_passwords_updated))
    table.add_row("Tempo", f"{report.seconds:.1f} s".replace(".", ","))
    console.print(table)
    _print_notes("Linhas recusadas", report.rejections, report.rejected)
    _print_notes("Avisos (linhas importadas)", report.warnings, report.warned)


def _print_notes(title: str, notes: list, total: int) -> None:
    if not total:
        return
    console.print(f"\n[bold]{title}:[/bold]")
    for note in notes[:SHOWN_ON_TERMINAL]:
        console.print(f"  {note}", highlight=False, markup=False, soft_wrap=True)
    if total > SHOWN_ON_TERMINAL:
        console.print(
            f"  … e mais {_number(total - SHOWN_ON_TERMINAL)}. "
            "Use --json para a lista (até 1.000).",
            highlight=False, soft_wrap=True,
        )


# -- demo output --------------------------------------------------------------------------------


def _person_view(person) -> dict[str, str | None]:  # noqa: ANN001
    """What to type, formatted as a person would type it (None: the person has none)."""
    return {
        "name": person.name,
        "card_number": person.card_number,
        "cpf": format_cpf(person.cpf) if person.cpf else None,
        "birth_date": person.birth_date.strftime("%d/%m/%Y"),
        "email": person.email,
        "phone": format_phone(normalize_phone(person.phone)) if person.phone else None,
        "path": person.path,
    }


# Below this many columns the seven-column table squeezes names into slivers: list instead.
_TABLE_MIN_WIDTH = 130


def _print_demo_table(people: list, base_url: str) -> None:
    from guarita.services.demo import DEMO_LEGACY_PASSWORD

    views = [_person_view(person) for person in people]
    if console.width >= _TABLE_MIN_WIDTH:
        table = Table(title="Beneficiários de demonstração (dados fictícios)", show_lines=True)
        # Numbers and addresses are copied by hand: never broken across lines.
        table.add_column("Nome")
        for header in ("Carteirinha", "CPF", "Nascimento", "E-mail", "Celular"):
            table.add_column(header, no_wrap=True)
        table.add_column("Para experimentar")
        for view in views:
            table.add_row(
                view["name"], view["card_number"], view["cpf"] or "não possui",
                view["birth_date"], view["email"] or "—", view["phone"] or "—", view["path"],
            )
        console.print(table)
    else:
        console.print("[bold]Beneficiários de demonstração (dados fictícios)[/bold]")
        for number, view in enumerate(views, start=1):
            console.print(
                f"\n{number}. [bold]{view['name']}[/bold] — {view['path']}\n"
                f"   Carteirinha {view['card_number']} · CPF {view['cpf'] or 'não possui'} · "
                f"Nascimento {view['birth_date']}\n"
                f"   E-mail {view['email'] or '—'} · Celular {view['phone'] or '—'}",
                highlight=False,
                soft_wrap=True,
            )
    console.print(
        f"\nSenha das contas antigas: [bold]{DEMO_LEGACY_PASSWORD}[/bold]\n"
        f"Abra {base_url} para experimentar. Os e-mails e SMS que seriam enviados aparecem em "
        f"{base_url}/dev/outbox.",
        highlight=False, soft_wrap=True,
    )


def _demo_json(result, present: bool) -> dict[str, Any]:  # noqa: ANN001
    from guarita.services.demo import DEMO_LEGACY_PASSWORD

    return {
        "loaded": result.loaded,
        "present": present,
        "import": result.report.as_json() if result.report else None,
        "legacy_password": DEMO_LEGACY_PASSWORD,
        "people": [
            {**_person_view(person), "legacy": person.legacy} for person in result.people
        ],
    }
