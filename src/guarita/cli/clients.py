"""``guarita clients add | list | disable | ensure-demo-portal``: the OpenID provider's clients.

A secret is printed once, when it is made; Guarita keeps only its SHA-256 (SECURITY.md).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer
from rich.table import Table

from guarita.cli.common import CliError, JsonOption, console, print_json, run_async
from guarita.storage.audit import RequestContext

app = typer.Typer(
    help="Clientes OpenID Connect: o portal, o aplicativo e os sistemas da organização.",
    no_args_is_help=True,
)

DEMO_PORTAL_ID = "portal-demo"
DEMO_PORTAL_NAME = "Portal do Beneficiário (demonstração)"
GOVBR_SUB_WARNING = (
    "neste perfil o sub é o CPF da pessoa, como no gov.br: o cliente recebe o CPF de todos que "
    "entrarem. Use-o só para portais que já recebiam o CPF do gov.br (docs/govbr-profile.md)."
)


def _operator() -> RequestContext:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "desconhecido"
    return RequestContext(actor=f"cli:{user}"[:64])


def _words(values: list[str] | None) -> list[str] | None:
    """``--scopes "openid profile"``, ``--scopes openid,profile`` or the option repeated."""
    if not values:
        return None
    return [w for v in values for w in v.replace(",", " ").split() if w]


def _show(client: dict, secret: str | None) -> None:
    console.print(f"[green]✓[/green] Cliente [bold]{client['client_name']}[/bold] cadastrado.")
    console.print(f"  client_id: [bold]{client['client_id']}[/bold]", highlight=False)
    if secret:
        console.print(f"  client_secret: [bold]{secret}[/bold]", highlight=False)
        console.print("  [yellow]Guarde o segredo agora: ele não será mostrado de novo.[/yellow]")
    console.print(
        f"  autenticação: {client['token_endpoint_auth_method']}; escopos: {client['scope']}",
        highlight=False,
    )


def _register(spec, *, ensure: bool = False) -> tuple[dict, str | None]:  # noqa: ANN001
    from guarita.oidc import clients
    from guarita.oidc.events import OidcEvent
    from guarita.storage.audit import record

    async def _run(runtime):  # noqa: ANN001, ANN202
        async with runtime.db.transaction() as session:
            try:
                action = clients.ensure if ensure else clients.register
                client, secret = await action(session, spec)
            except clients.ClientRegistrationError as exc:
                raise CliError(str(exc)) from None
            await record(
                session,
                OidcEvent.CLIENT_REGISTERED,
                context=_operator(),
                details={"client_id": client.id, "name": client.name},
            )
        return client.as_dict(), secret

    return run_async(_run)


LegalBasisOption = typer.Option(
    "consent", "--legal-basis",
    help="Por que o cliente recebe os dados (LGPD art. 7): consent (consentimento, padrão) ou "
         "legal_duty (obrigação legal ou contratual da organização).",
)
LegalBasisTextOption = typer.Option(
    None, "--legal-basis-text",
    help='A lei ou o contrato, como a pessoa vai ler (ex.: "Lei 8.213/1991, art. 124").',
)


@app.command("add")
def add(
    name: str = typer.Option(
        ..., "--name", help="Nome que as pessoas veem (ex.: Aplicativo do Instituto)."
    ),
    redirect_uri: list[str] = typer.Option(
        [], "--redirect-uri", help="Endereço de retorno; repita para mais de um."
    ),
    post_logout_redirect_uri: list[str] = typer.Option(
        [],
        "--post-logout-redirect-uri",
        help="Para onde voltar depois de sair; repita para mais de um.",
    ),
    public: bool = typer.Option(
        False, "--public", help="Sem segredo (aplicativo de celular ou SPA), só PKCE."
    ),
    third_party: bool = typer.Option(
        False, "--third-party", help="De outra empresa: pede consentimento."
    ),
    scopes: list[str] = typer.Option(
        None, "--scopes", help='Escopos permitidos (ex.: "openid profile beneficiary").'
    ),
    grant_type: list[str] = typer.Option(
        None, "--grant-type", help="authorization_code, refresh_token, client_credentials (repita)."
    ),
    auth_method: str = typer.Option(
        None,
        "--auth-method",
        help="client_secret_basic (padrão), client_secret_post, private_key_jwt ou none.",
    ),
    jwks: Path = typer.Option(
        None, "--jwks", help="Arquivo JWKS com as chaves públicas (private_key_jwt)."
    ),
    native: bool = typer.Option(False, "--native", help="Aplicativo nativo (RFC 8252)."),
    pairwise: bool = typer.Option(
        False, "--pairwise", help="sub diferente por setor (OpenID Connect §8.1)."
    ),
    sector: str = typer.Option(
        None, "--sector", help="Setor do sub pairwise (padrão: host do endereço de retorno)."
    ),
    id_token_alg: str = typer.Option("RS256", "--id-token-alg", help="RS256 (padrão) ou ES256."),
    profile: str = typer.Option(
        "standard",
        "--profile",
        help="standard (padrão) ou govbr: fala como o Login Único do gov.br, em /govbr/.",
    ),
    backchannel_logout_uri: str = typer.Option(
        None, "--backchannel-logout-uri",
        help="Recebe por POST o logout token quando a pessoa sai (Back-Channel Logout 1.0).",
    ),
    backchannel_logout_session_required: bool = typer.Option(
        False, "--backchannel-logout-session-required",
        help="O cliente exige o sid no logout token.",
    ),
    frontchannel_logout_uri: str = typer.Option(
        None, "--frontchannel-logout-uri",
        help="Aberto num iframe da página de saída (Front-Channel Logout 1.0).",
    ),
    frontchannel_logout_session_required: bool = typer.Option(
        False, "--frontchannel-logout-session-required",
        help="O cliente exige iss e sid no endereço do iframe.",
    ),
    legal_basis: str = LegalBasisOption,
    legal_basis_text: str = LegalBasisTextOption,
    as_json: bool = JsonOption,
) -> None:
    """Cadastra um cliente e mostra o client_id e, uma única vez, o segredo."""
    from guarita.oidc.clients import ClientSpec

    keys = None
    if jwks is not None:
        try:
            keys = json.loads(jwks.read_text())
        except (OSError, ValueError) as exc:
            raise CliError(f"Não foi possível ler o JWKS {jwks}: {exc}") from None
    spec = ClientSpec(
        name=name,
        redirect_uris=redirect_uri,
        post_logout_redirect_uris=post_logout_redirect_uri,
        public=public,
        third_party=third_party,
        scopes=_words(scopes),
        grant_types=_words(grant_type),
        auth_method=auth_method,
        application_type="native" if native else "web",
        subject_type="pairwise" if pairwise else "public",
        sector_identifier=sector,
        id_token_alg=id_token_alg,
        jwks=keys,
        profile=profile,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
        frontchannel_logout_uri=frontchannel_logout_uri,
        frontchannel_logout_session_required=frontchannel_logout_session_required,
        legal_basis=legal_basis,
        legal_basis_text=legal_basis_text,
    )
    client, secret = _register(spec)
    warnings = [GOVBR_SUB_WARNING] if client["profile"] == "govbr" else []
    if as_json:
        print_json({**client, "client_secret": secret, "warnings": warnings})
    else:
        _show(client, secret)
        for warning in warnings:
            console.print(f"  [yellow]Atenção: {warning}[/yellow]", highlight=False)


@app.command("ensure-demo-portal")
def ensure_demo_portal(
    redirect_uri: str = typer.Option(..., "--redirect-uri"),
    post_logout_redirect_uri: str = typer.Option(..., "--post-logout-redirect-uri"),
    backchannel_logout_uri: str = typer.Option(
        None, "--backchannel-logout-uri", help="Onde o portal recebe o logout token."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Cadastra (ou atualiza) o portal de demonstração com um segredo novo (make run)."""
    from guarita.oidc.clients import ClientSpec

    spec = ClientSpec(
        name=DEMO_PORTAL_NAME,
        redirect_uris=[redirect_uri],
        post_logout_redirect_uris=[post_logout_redirect_uri],
        scopes=["openid", "profile", "beneficiary", "trust"],
        client_id=DEMO_PORTAL_ID,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=bool(backchannel_logout_uri),
    )
    client, secret = _register(spec, ensure=True)
    if as_json:
        print_json({**client, "client_secret": secret})
    else:
        _show(client, secret)


@app.command("list")
def list_command(as_json: bool = JsonOption) -> None:
    """Lista os clientes cadastrados (sem segredos)."""
    from guarita.oidc import clients

    async def _run(runtime):  # noqa: ANN001, ANN202
        async with runtime.db.transaction() as session:
            return [c.as_dict() for c in await clients.list_all(session)]

    found = run_async(_run)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("Nenhum cliente cadastrado. Use [bold]guarita clients add[/bold].")
        return
    table = Table(
        "client_id", "nome", "autenticação", "tipo", "perfil", "endereços de retorno", "situação"
    )
    for c in found:
        table.add_row(
            c["client_id"],
            c["client_name"],
            c["token_endpoint_auth_method"],
            "própria" if c["first_party"] else "terceiros",
            "gov.br" if c["profile"] == "govbr" else "Guarita",
            "\n".join(c["redirect_uris"]),
            "ativo" if c["active"] else "desativado",
        )
    console.print(table)


@app.command("update")
def update(
    client_id: str = typer.Argument(..., help="O client_id."),
    legal_basis: str = typer.Option(
        ..., "--legal-basis", help="consent ou legal_duty (LGPD art. 7)."
    ),
    legal_basis_text: str = LegalBasisTextOption,
    as_json: bool = JsonOption,
) -> None:
    """Muda a base legal de um cliente (o que a pessoa vê em "Quem recebeu meus dados")."""
    from guarita.oidc import clients
    from guarita.oidc.events import OidcEvent
    from guarita.storage.audit import record

    async def _run(runtime):  # noqa: ANN001, ANN202
        async with runtime.db.transaction() as session:
            try:
                client = await clients.set_legal_basis(
                    session, client_id, legal_basis, legal_basis_text
                )
            except clients.ClientRegistrationError as exc:
                raise CliError(str(exc)) from None
            if client is None:
                raise CliError(f"Cliente {client_id} não encontrado.")
            await record(
                session, OidcEvent.CLIENT_UPDATED, context=_operator(),
                details={"client_id": client.id, "legal_basis": client.legal_basis},
            )
        clients.forget(runtime, client_id)
        return client.as_dict()

    client = run_async(_run)
    if as_json:
        print_json(client)
    else:
        console.print(
            f"Cliente {client_id}: base legal {client['legal_basis']}"
            + (f" ({client['legal_basis_text']})" if client["legal_basis_text"] else "") + ".",
            highlight=False,
        )


@app.command("disable")
def disable(
    client_id: str = typer.Argument(..., help="O client_id."), as_json: bool = JsonOption
) -> None:
    """Desativa um cliente: nenhum token novo, e os já emitidos deixam de valer."""
    from guarita.oidc.grants import RevokedBecause, revoke_client
    from guarita.storage import plain_sql
    from guarita.storage.oidc_tables import OidcClient
    from guarita.storage.types import utcnow

    async def _run(runtime):  # noqa: ANN001, ANN202
        async with runtime.db.transaction() as session:
            row = await session.get(OidcClient, client_id)
            if row is None:
                raise CliError(f"Cliente {client_id} não encontrado.")
            row.disabled_at = row.disabled_at or utcnow()
            return await revoke_client(
                plain_sql.in_session(session), client_id, RevokedBecause.REVOKED_BY_CLIENT
            )

    revoked = run_async(_run)
    if as_json:
        print_json({"client_id": client_id, "disabled": True, "grants_revoked": revoked})
    else:
        console.print(f"Cliente {client_id} desativado; {revoked} autorizações revogadas.")
