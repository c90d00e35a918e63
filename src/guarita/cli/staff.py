"""``guarita staff …``: the support desk's people and the support API's tokens
(docs/support-desk.md › Enrolling staff).

``staff add`` prints the single-use enrolment link (24 h) to hand to the person; ``staff token
create`` prints a token once. Every change is audited with the operating-system user as actor
(``cli:<user>``), so the log says who ran the command.
"""

from __future__ import annotations

import getpass

import typer

from guarita.cli.common import CliError, JsonOption, console, print_json, run_async
from guarita.config import SupportSettings
from guarita.domain.errors import GuaritaError
from guarita.domain.roles import ROLE_LABELS, TOKEN_SCOPES, Role
from guarita.services import staff as staff_service
from guarita.storage.audit import RequestContext

# The settings' defaults, for the help text (the command itself reads the runtime's settings).
_DESK = SupportSettings()

app = typer.Typer(help="Equipe da central de atendimento.", no_args_is_help=True)
token_app = typer.Typer(
    help="Tokens da API de atendimento (/api/v1/support).", no_args_is_help=True
)
app.add_typer(token_app, name="token")


def _actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "?"
    return f"cli:{user}"[:64]


def _context() -> RequestContext:
    return RequestContext(ip=None, user_agent="guarita-cli", actor=_actor())


def _run(factory):  # noqa: ANN001, ANN202
    try:
        return run_async(factory)
    except GuaritaError as exc:
        raise CliError(exc.message) from None


@app.command("add")
def add(
    email: str = typer.Option(..., "--email", help="E-mail de trabalho."),
    name: str = typer.Option(..., "--name", help="Nome da pessoa."),
    role: str = typer.Option(..., "--role", help="agent, supervisor ou admin."),
    as_json: bool = JsonOption,
) -> None:
    """Adiciona alguém à equipe e mostra o link de ativação (uso único, 24 horas)."""
    enrolment = _run(
        lambda rt: staff_service.add_staff(
            rt, email=email, name=name, role=role, created_by=_actor(), context=_context()
        )
    )
    _print_enrolment(enrolment, as_json)


@app.command("reset")
def reset(
    email: str = typer.Option(..., "--email"),
    as_json: bool = JsonOption,
) -> None:
    """Apaga senha, autenticador e códigos de recuperação e gera um novo link de ativação."""
    enrolment = _run(
        lambda rt: staff_service.reset_staff(rt, email=email, actor=_actor(), context=_context())
    )
    _print_enrolment(enrolment, as_json)


def _print_enrolment(enrolment: staff_service.Enrolment, as_json: bool) -> None:
    if as_json:
        print_json(enrolment.as_json())
        return
    staff = enrolment.staff
    console.print(
        f"[green]✓[/green] {staff.name} <{staff.email}> — {ROLE_LABELS[Role(staff.role)]}",
        highlight=False,
    )
    console.print("Link de ativação (uso único, vale 24 horas; envie por um canal seguro):")
    # soft_wrap: the link must stay on one line to be copied whole.
    console.print(enrolment.link, soft_wrap=True, highlight=False)


@app.command("list")
def list_(as_json: bool = JsonOption) -> None:
    """Lista a equipe."""
    people = _run(staff_service.list_staff)
    if as_json:
        print_json([p.as_json() for p in people])
        return
    from rich.table import Table

    table = Table("Id", "Nome", "E-mail", "Papel", "Situação", "Códigos")
    for p in people:
        table.add_row(str(p.id), p.name, p.email, p.role, p.status, str(p.recovery_codes_left))
    console.print(table)


def _set_status(email: str, enabled: bool, as_json: bool) -> None:
    async def _do(rt):  # noqa: ANN001, ANN202
        async with rt.db.transaction() as session:
            row = await staff_service.staff_by(session, email=email)
        return await staff_service.set_staff_status(
            rt, row.id, enabled=enabled, actor=_actor(), context=_context()
        )

    view = _run(_do)
    if as_json:
        print_json(view.as_json())
    else:
        console.print(f"[green]✓[/green] {view.name}: {view.status}", highlight=False)


@app.command("disable")
def disable(email: str = typer.Option(..., "--email"), as_json: bool = JsonOption) -> None:
    """Desativa o acesso (as sessões abertas terminam na hora)."""
    _set_status(email, False, as_json)


@app.command("enable")
def enable(email: str = typer.Option(..., "--email"), as_json: bool = JsonOption) -> None:
    """Reativa o acesso."""
    _set_status(email, True, as_json)


@token_app.command("create")
def token_create(
    scopes: str = typer.Option(
        ..., "--scopes", help="Separados por vírgula: " + ",".join(str(s) for s in TOKEN_SCOPES)
    ),
    expires_days: int | None = typer.Option(
        None,
        "--expires-days",
        help=(
            f"Validade em dias (1 a {_DESK.token_max_days}; sem a opção, "
            f"{_DESK.token_default_days} ou GUARITA_SUPPORT__TOKEN_DEFAULT_DAYS)."
        ),
    ),
    name: str = typer.Option("CRM", "--name", help="O sistema que vai usar o token."),
    as_json: bool = JsonOption,
) -> None:
    """Cria um token da API de atendimento; ele é mostrado só agora."""
    token = _run(
        lambda rt: staff_service.create_token(
            rt,
            name=name,
            scopes=scopes,
            expires_days=(
                expires_days if expires_days is not None else rt.settings.support.token_default_days
            ),
            created_by=_actor(),
            context=_context(),
        )
    )
    if as_json:
        print_json(token.as_json())
        return
    console.print(
        f"[green]✓[/green] Token {token.id} ({token.name}), escopos "
        f"{', '.join(token.scopes)}, vale até {token.expires_at:%d/%m/%Y}.",
        highlight=False,
    )
    console.print("Guarde agora; ele não será mostrado de novo:")
    console.print(token.token, soft_wrap=True, highlight=False)


@token_app.command("list")
def token_list(as_json: bool = JsonOption) -> None:
    """Lista os tokens (sem os valores, que não ficam guardados)."""
    tokens = _run(staff_service.list_tokens)
    if as_json:
        print_json([t.as_json() for t in tokens])
        return
    from rich.table import Table

    table = Table("Id", "Nome", "Início", "Escopos", "Vale até", "Situação")
    for t in tokens:
        state = "revogado" if t.revoked_at else ("ativo" if t.active() else "vencido")
        table.add_row(
            str(t.id), t.name, t.prefix + "…", ",".join(t.scopes), f"{t.expires_at:%d/%m/%Y}", state
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: int = typer.Argument(..., help="O id do token (staff token list)."),
    as_json: bool = JsonOption,
) -> None:
    """Revoga um token: ele para de funcionar na hora."""
    token = _run(
        lambda rt: staff_service.revoke_token(rt, token_id, actor=_actor(), context=_context())
    )
    if as_json:
        print_json(token.as_json())
    else:
        console.print(
            f"[green]✓[/green] Token {token.id} ({token.name}) revogado.", highlight=False
        )
