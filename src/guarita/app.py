"""Composition root: builds the ASGI application and wires services to adapters.

Nothing else constructs the database, the hasher or the message senders; routes reach them
through ``request.app.state.runtime`` (DESIGN.md › Layout).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from guarita import logging as guarita_logging
from guarita import routes
from guarita.config import Settings, explain, get_settings
from guarita.edge import errors as edge_errors
from guarita.methods import registry
from guarita.runtime import Runtime
from guarita.web.body_limit import BodyLimitMiddleware
from guarita.web.middleware import SecurityMiddleware

STATIC = Path(__file__).parent / "web" / "static"
log = structlog.get_logger("guarita.app")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else get_settings())
    registry.check_settings(settings)  # a method named in the settings must exist
    runtime = runtime or Runtime.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        worker_task = None
        if settings.run_worker_in_server:
            from guarita.messaging.worker import run_forever

            worker_task = asyncio.create_task(run_forever(runtime, stop))
        if settings.recovery.kba_only:
            log.warning("recovery_kba_only_enabled", detail="recuperação só por dados pessoais")
        for notice in settings.deprecations():
            log.warning("deprecated_setting", detail=notice)
        from guarita.storage.audit_anchor import anchor_forever
        from guarita.web.metrics import start_listener

        anchor_task = asyncio.create_task(anchor_forever(runtime.db, settings.audit, stop))
        metrics_listener = start_listener(settings.metrics)
        try:
            yield
        finally:
            stop.set()
            if metrics_listener is not None:
                metrics_listener.shutdown()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(anchor_task, timeout=5)
            if worker_task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(worker_task, timeout=10)
            await runtime.close()

    app = FastAPI(
        title="Guarita",
        version="0.1.0",
        description=(
            "API de identidade do Guarita para o aplicativo e os sistemas da organização. "
            "Erros sempre no formato {\"error\": {\"code\", \"message\", \"field\"}}."
        ),
        openapi_url="/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    edge_errors.install(app)
    # The sign-in page allows its form to reach the redirect of the authorization flow it
    # resumes; the web pages ask through this hook instead of importing the provider.
    from guarita.oidc.form_targets import for_next

    app.state.flow_form_targets = for_next
    # The outbox worker signs back-channel logout tokens through the provider.
    from guarita.oidc import backchannel_logout

    backchannel_logout.install(runtime)

    from guarita.web import health, metrics, pages

    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(pages.router)
    _include_optional(app, settings)

    STATIC.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityMiddleware, settings=settings)
    # Outermost: nothing below it (not even the access log) sees an oversized body.
    app.add_middleware(
        BodyLimitMiddleware, default=settings.http.max_body_bytes,
        larger=routes.larger_bodies(settings),
    )
    return app


def _include_optional(app: FastAPI, settings: Settings) -> None:
    """Routers of capabilities that register themselves in ``guarita.routes``."""
    for router in routes.routers(settings):
        app.include_router(router)


def serve_app():  # noqa: ANN201 - an ASGI callable
    """Entry point for ``uvicorn --factory guarita.app:serve_app`` (several workers).

    Discovery and JWKS, public and immutable between key rotations, are answered before the
    middleware stack (``oidc.endpoints.fast_path``): ~4× the requests per CPU-second.
    """
    from guarita.oidc.endpoints import fast_path

    try:
        settings = get_settings()
        registry.check_settings(settings)
    except ValidationError as exc:
        raise SystemExit(explain(exc)) from None
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    guarita_logging.configure(settings.log_level)
    problems = settings.problems()
    if settings.production and problems:
        raise SystemExit("Configuração insegura:\n- " + "\n- ".join(problems))
    return fast_path(create_app(settings))
