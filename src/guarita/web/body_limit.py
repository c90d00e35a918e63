"""Every request body is capped before anything parses it (SECURITY.md › Data; OWASP ASVS 5.0
V4.1, "limit the size of incoming requests").

Pure ASGI, outermost: a ``Content-Length`` above the limit is answered 413 without reading a
byte; a body without one (chunked, streamed) is counted as it arrives and the request is cut
off at the first chunk that crosses the limit, so the server never holds more than the limit
plus one chunk. The answer is the error envelope ``payload_too_large``.

Routes that take larger bodies (the face captures) declare their own limit by path template
(``routes.larger_bodies``: ``/api/v1/recoveries/{recovery_id}/face``, a ``{name}`` standing for
one path segment); everything else gets ``GUARITA_HTTP__MAX_BODY_BYTES``. A template matches
the whole path, so a larger limit never spreads to the routes beside it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from starlette.exceptions import HTTPException

from guarita.domain.errors import MESSAGES, ErrorCode


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the body crosses the limit. An HTTP exception, so that the
    framework's parsers let it through quietly (no 400, no traceback); the middleware then
    replaces whatever the application answered."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


def _envelope() -> bytes:
    code = ErrorCode.PAYLOAD_TOO_LARGE
    body = {"error": {"code": str(code), "message": MESSAGES[code], "field": None}}
    return json.dumps(body, ensure_ascii=False).encode()


def _template(path: str) -> re.Pattern[str]:
    """``/a/{id}/b`` → a pattern of the whole path, ``{id}`` being one non-empty segment."""
    parts = re.split(r"\{[^/{}]+\}", path)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


class BodyLimitMiddleware:
    def __init__(self, app, default: int, larger: Mapping[str, int] | None = None):  # noqa: ANN001
        self.app = app
        self.default = default
        self.larger = [(_template(path), limit) for path, limit in (larger or {}).items()]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.larger:
            if pattern.fullmatch(path):
                return limit
        return self.default

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send)
            return
        state = {"received": 0, "over": False, "started": False}

        async def limited_receive():  # noqa: ANN202
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message):  # noqa: ANN001
            if state["over"]:
                return  # whatever the application answers to the cut-off body is replaced
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await _refuse(send)


def _content_length(scope) -> int | None:  # noqa: ANN001
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send) -> None:  # noqa: ANN001
    body = _envelope()
    await send({
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    })
    await send({"type": "http.response.body", "body": body})
