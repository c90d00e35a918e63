"""JSON logs (structlog) with request ids and never a secret.

Secrets are typed (``pydantic.SecretStr``) so they print as ``**********``; the processor below
also drops keys whose name says they hold one, in case a caller logs a dict.
"""

from __future__ import annotations

import logging
import sys

import structlog

_SECRET_KEYS = {"password", "senha", "code", "token", "secret", "session_token", "authorization", "cookie"}


def _redact(_, __, event_dict):  # noqa: ANN001
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def configure(level: str = "INFO", json: bool = True) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
