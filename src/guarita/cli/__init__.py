"""The ``guarita`` command (typer + rich). One module per group of commands.

Every command prints plain pt-BR; ``--json`` gives machine output. Expected failures (a file that
cannot be read, a database that does not answer) end with one line on stderr and exit code 1,
never a traceback.
"""

from __future__ import annotations

import typer

from guarita.cli import (
    audit,
    clients,
    dev_smtp,
    keys,
    operations,
    outbox,
    privacy,
    registry,
    server,
    staff,
    upstreams,
)
from guarita.cli.common import run_guarded
from guarita.cli.ptbr import install as _pt_br

_pt_br()

app = typer.Typer(
    name="guarita",
    help="Guarita: identidade para beneficiários (cadastro, entrar, recuperação, atendimento).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

server.register(app)
operations.register(app)
registry.register(app)
dev_smtp.register(app)
app.add_typer(outbox.app, name="outbox")
app.add_typer(audit.app, name="audit")
app.add_typer(privacy.app, name="privacy")
app.add_typer(staff.app, name="staff")
app.add_typer(clients.app, name="clients")
app.add_typer(keys.app, name="keys")
app.add_typer(upstreams.app, name="upstreams")


def main() -> None:
    run_guarded(app)
