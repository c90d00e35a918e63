"""Prometheus metrics, never public (SECURITY.md › Data: operational endpoints that count
per-person events are never public).

The outbox counters move when a code is really sent, so a public ``/metrics`` would let anyone
count the recoveries of a known account. Three ways, chosen by ``GUARITA_METRICS__*``:

- ``port`` set: a separate listener on ``host`` (loopback by default) serves the metrics; the
  public application answers 404 on ``/metrics``.
- ``token`` set: the public ``/metrics`` answers only ``Authorization: Bearer <token>``
  (RFC 6750 §2.1), and 404 to anyone else, so the endpoint does not even announce itself.
- neither: served openly in development and test (one machine, loopback); 404 in production.
"""

from __future__ import annotations

import hmac
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server

from guarita.config import MetricsSettings, Settings
from guarita.domain.errors import ErrorCode, GuaritaError

router = APIRouter(include_in_schema=False)
log = structlog.get_logger("guarita.metrics")


def public_access(settings: Settings, authorization: str | None) -> bool:
    """Whether the public application may answer ``/metrics`` to this request."""
    metrics = settings.metrics
    if metrics.port is not None:
        return False
    if metrics.token is not None:
        scheme, _, value = (authorization or "").partition(" ")
        expected = metrics.token.get_secret_value().encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected)
    return not settings.production


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    settings = request.app.state.runtime.settings
    if not public_access(settings, request.headers.get("authorization")):
        raise GuaritaError(ErrorCode.NOT_FOUND)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def start_listener(metrics: MetricsSettings) -> Any | None:  # noqa: ANN401 - a WSGI server
    """Serves ``/metrics`` on ``host:port`` from a thread; None when no port is set.

    With several server processes the first one binds and the others log and carry on: one
    listener per machine is what a Prometheus scrape job expects.
    """
    if metrics.port is None:
        return None
    try:
        server, _thread = start_http_server(metrics.port, addr=metrics.host)
    except OSError as exc:
        log.warning("metrics_listener_not_started", host=metrics.host, port=metrics.port,
                    error=str(exc))
        return None
    log.info("metrics_listener_started", host=metrics.host, port=metrics.port)
    return server
