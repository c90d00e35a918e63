"""``guarita dev-smtp``: an SMTP server on loopback for development (``make run`` starts it).

Without it, a fresh ``make run`` filled the log with "connection refused" retries and no e-mail
ever arrived. This one accepts every message (aiosmtpd, the server the test suite uses too),
keeps it as ``var/mail/<n>.eml`` and prints one line — recipient and subject — so the person
trying Guarita sees each e-mail arrive; ``/dev/outbox`` shows it as sent. It listens on
127.0.0.1 only and refuses any other address: it is a development tool, not a mail relay.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from email import message_from_bytes, policy
from pathlib import Path

import typer

from guarita.cli.common import CliError, console, settings
from guarita.config import VAR_DIR

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Keeper:
    """aiosmtpd handler: writes each message to a file and says so."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = len(list(folder.glob("*.eml")))

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook name
        self.count += 1
        path = self.folder / f"{self.count:05d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        parsed = message_from_bytes(envelope.original_content or envelope.content,
                                    policy=policy.default)
        subject = str(parsed.get("subject", "") or "")
        for to in envelope.rcpt_tos:
            console.print(f"  E-mail para {to}: {subject}", highlight=False, markup=False)
        return "250 Mensagem recebida"


def _in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        return probe.connect_ex((host, port)) == 0


def register(app: typer.Typer) -> None:
    @app.command("dev-smtp")
    def dev_smtp(
        port: int = typer.Option(None, help="Porta (padrão: GUARITA_SMTP__PORT)."),
        folder: Path = typer.Option(None, help="Onde guardar as mensagens (padrão: var/mail)."),
    ) -> None:
        """Servidor de e-mail de desenvolvimento em 127.0.0.1: guarda e mostra cada mensagem."""
        from aiosmtpd.controller import Controller

        cfg = settings()
        if cfg.production:
            raise CliError("dev-smtp é só para desenvolvimento (GUARITA_ENV=production).")
        host = cfg.smtp.host if cfg.smtp.host in LOOPBACK else "127.0.0.1"
        port = port or cfg.smtp.port
        if _in_use(host, port):
            console.print(f"  Já há um servidor de e-mail em {host}:{port}; usando esse.",
                          highlight=False, soft_wrap=True)
            return
        target = folder or (VAR_DIR / "mail")
        target.mkdir(parents=True, exist_ok=True)
        controller = Controller(_Keeper(target), hostname=host, port=port)
        controller.start()
        console.print(f"  E-mails de desenvolvimento: smtp://{host}:{port}", highlight=False,
                      markup=False, soft_wrap=True)

        async def _wait() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()

        try:
            asyncio.run(_wait())
        finally:
            controller.stop()
