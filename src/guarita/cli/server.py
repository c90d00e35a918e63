"""``guarita serve``, ``guarita worker``, ``guarita migrate``."""

from __future__ import annotations

import asyncio
import os

import typer

from guarita.cli.common import CliError, console, settings


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate() -> None:
        """Cria ou atualiza as tabelas do banco de dados (Alembic)."""
        from guarita.storage.migrate import upgrade

        cfg = settings()
        upgrade(cfg.database_url)
        console.print("Banco de dados atualizado.")

    @app.command()
    def serve(
        host: str = typer.Option(None, help="Endereço (padrão: GUARITA_HOST)."),
        port: int = typer.Option(None, help="Porta (padrão: GUARITA_PORT)."),
        workers: int = typer.Option(1, help="Processos do servidor."),
    ) -> None:
        """Serve as páginas, a API e o provedor OpenID (uvicorn)."""
        import uvicorn

        cfg = settings()
        bind = host or cfg.host
        if not cfg.production and bind not in ("127.0.0.1", "localhost", "::1"):
            # Development and test expose /dev/outbox, where every code can be read.
            raise CliError(
                f"GUARITA_ENV={cfg.env} serve só em 127.0.0.1 (as mensagens ficam visíveis em "
                "/dev/outbox). Para servir em outro endereço, use GUARITA_ENV=production."
            )
        # The app is built by uvicorn's factory, in this process or in worker processes, from
        # the environment: the address chosen here must reach it, and with it the default
        # GUARITA_BASE_URL (config.served_address).
        os.environ["GUARITA_HOST"] = bind
        os.environ["GUARITA_PORT"] = str(port or cfg.port)
        from guarita.config import get_settings

        get_settings.cache_clear()
        if cfg.production:
            from guarita.cli.common import run_async
            from guarita.services.deployment import problems as deployment_problems

            problems = run_async(deployment_problems, cfg)
            if problems:
                raise CliError("configuração insegura para produção: " + " ".join(problems))
        uvicorn.run(
            "guarita.app:serve_app",
            factory=True,
            host=bind,
            port=port or cfg.port,
            workers=workers,
            timeout_worker_healthcheck=cfg.worker_healthcheck_seconds,
            proxy_headers=bool(cfg.trusted_proxies),
            forwarded_allow_ips=",".join(cfg.trusted_proxies) or None,
            log_config=None,
            access_log=False,
            loop="uvloop",
            http="httptools",
        )

    @app.command()
    def worker() -> None:
        """Entrega a fila (e-mail, SMS, avisos de saída aos aplicativos); para vários servidores."""
        from guarita import logging as guarita_logging
        from guarita.messaging.worker import run_forever
        from guarita.runtime import Runtime

        cfg = settings()
        guarita_logging.configure(cfg.log_level)

        async def _main() -> None:
            from guarita.oidc import backchannel_logout

            runtime = Runtime.build(cfg)
            backchannel_logout.install(runtime)  # back-channel logout tokens
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            import signal

            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            try:
                await run_forever(runtime, stop)
            finally:
                await runtime.close()

        asyncio.run(_main())
