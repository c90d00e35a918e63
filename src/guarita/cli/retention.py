"""``guarita audit retention`` and ``guarita outbox retention``: removing the months past
``GUARITA_AUDIT__RETENTION_MONTHS`` / ``GUARITA_OUTBOX__RETENTION_MONTHS`` now, or seeing what
would go (``--dry-run``). The worker does the same every hour (``storage/retention.py``;
docs/scale.md › Partitioning the audit and outbox tables by month).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable

import typer

from guarita.cli.common import CliError, JsonOption, console, print_json, run_async, settings

_WHAT = {"audit": ("GUARITA_AUDIT__RETENTION_MONTHS", "eventos"),
         "outbox": ("GUARITA_OUTBOX__RETENTION_MONTHS", "mensagens enviadas ou que falharam")}


def _operator():  # noqa: ANN202 - storage.audit.RequestContext
    from guarita.storage.audit import RequestContext

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "desconhecido"
    return RequestContext(actor=f"cli:{user}"[:64])


def command(which: str) -> Callable[..., None]:
    """The ``retention`` command of the ``audit`` or the ``outbox`` group."""
    variable, rows_name = _WHAT[which]

    def retention(
        dry_run: bool = typer.Option(False, "--dry-run", help="Só mostra o que sairia."),
        months: int = typer.Option(
            None, "--months", min=1, help=f"Meses mantidos além do atual (padrão: {variable})."
        ),
        as_json: bool = JsonOption,
    ) -> None:
        from guarita import logging as guarita_logging
        from guarita.storage import retention as storage_retention

        cfg = settings()
        # The checkpoint's anchor goes to the JSON logs on stderr, with the server's.
        guarita_logging.configure(cfg.log_level)
        months = months or getattr(cfg, which).retention_months
        if not months:
            raise CliError(f"{variable} não está definida: tudo é mantido. Use --months para "
                           "remover mesmo assim.")
        run = getattr(storage_retention, which)

        async def _run(runtime):  # noqa: ANN001, ANN202
            return await run(runtime.db, months, dry_run=dry_run, context=_operator())

        try:
            report = run_async(_run, cfg)
        except storage_retention.RetentionRefused as exc:
            raise CliError(f"Retenção recusada: {exc}.") from None
        if as_json:
            print_json(report.as_dict())
            return
        verb = "Sairiam" if dry_run else "Saíram"
        through = report.through.date().isoformat()
        console.print(f"{verb}: o que foi criado antes de {through} ({months} meses mantidos "
                      "além do atual).")
        console.print(f"  partições mensais: {', '.join(report.partitions) or 'nenhuma'}")
        console.print(f"  {rows_name} apagados um a um: {report.rows}")
        if report.kept:
            console.print(f"  mantidas (mensagens ainda na fila): {', '.join(report.kept)}")
        if report.checkpoint:
            seq, digest = report.checkpoint
            console.print(f"  a corrente passa a começar depois do evento {seq} ({seq}:{digest})")

    retention.__doc__ = ("Remove os meses mais antigos que a retenção configurada "
                         f"({variable}).")
    return retention
