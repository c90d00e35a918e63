"""The one place where failures become HTTP responses (house style 4).

JSON clients get the envelope of DESIGN.md: ``{"error": {"code", "message", "field"}}`` plus
extra keys where a code carries data (``reasons``, ``retry_after``, ``attempts_left``).
Browsers get a pt-BR page. Unexpected exceptions are logged and answered 500 with a code that
says so, without any detail of what broke.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from guarita.domain.errors import MESSAGES, ErrorCode, FieldErrors, GuaritaError

log = structlog.get_logger("guarita.errors")

_HTTP_CODES = {
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    429: ErrorCode.RATE_LIMITED,
}


def envelope(error: GuaritaError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": str(error.code), "message": error.message, "field": error.field}
    if error.details:
        body.update(error.details)
    if isinstance(error, FieldErrors):
        body["errors"] = [
            {"code": str(e.code), "message": e.message, "field": e.field, **(e.details or {})}
            for e in error.errors
        ]
    return {"error": body}


def error_response(error: GuaritaError, headers: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    retry_after = (error.details or {}).get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    return JSONResponse(envelope(error), status_code=error.status, headers=headers)


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/oauth/", "/oidc/", "/.well-known/", "/dev/outbox.json")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _field_of(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return parts[0] if parts else None


async def on_guarita_error(request: Request, exc: GuaritaError) -> Response:
    if wants_json(request):
        return error_response(exc)
    from guarita.edge.render import render_error_page

    return render_error_page(request, exc)


async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {}
    field = _field_of(tuple(first.get("loc", ())))
    error = GuaritaError(
        ErrorCode.VALIDATION_ERROR,
        message=f"{MESSAGES[ErrorCode.VALIDATION_ERROR]} Campo: {field}." if field else None,
        field=field,
    )
    return await on_guarita_error(request, error)


async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code)
    if code is None:
        code = ErrorCode.VALIDATION_ERROR if exc.status_code < 500 else ErrorCode.SERVICE_UNAVAILABLE
    error = GuaritaError(code)
    response = await on_guarita_error(request, error)
    response.status_code = exc.status_code
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        # Starlette names only the first route of the path; RFC 9110 §15.5.6 wants them all
        # (a path with GET and POST in two routes, as /api/v1/me/passkeys).
        methods = allowed_methods(request.app, request.url.path)
        if methods:
            response.headers["Allow"] = ", ".join(sorted(methods))
    return response


def _walk(routes, prefix: str = ""):  # noqa: ANN001, ANN202
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _walk(nested.routes, prefix + route.include_context.prefix)
        elif getattr(route, "methods", None) and hasattr(route, "path"):
            yield prefix + route.path, route.methods


def allowed_methods(app, path: str) -> set[str]:  # noqa: ANN001
    """Every method some route of ``app`` serves at ``path`` (index built once per app)."""
    index = getattr(app.state, "allow_index", None)
    if index is None:
        index = [(full, compile_path(full)[0], set(methods)) for full, methods in _walk(app.router.routes)]
        app.state.allow_index = index
    matched = [(full, methods) for full, regex, methods in index if regex.match(path)]
    # A literal path is its own resource: /me/passkeys/options is not /me/passkeys/{passkey_id}.
    literal = [(full, methods) for full, methods in matched if "{" not in full]
    found: set[str] = set()
    for _, methods in literal or matched:
        found |= methods
    return found


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """Anything not raised as a ``GuaritaError``: logged with its stack here, answered 500
    ``internal_error`` in the envelope (DESIGN.md › Contracts: errors are always the envelope),
    with nothing of what broke: no exception text, no stack trace."""
    log.exception("unexpected_error", path=request.url.path)
    error = GuaritaError(ErrorCode.INTERNAL_ERROR)
    if not wants_json(request):
        try:
            from guarita.edge.render import render_error_page

            return render_error_page(request, error)
        except Exception:  # noqa: BLE001 - the page itself failed; the envelope cannot
            log.exception("error_page_failed", path=request.url.path)
    return error_response(error)


def install(app) -> None:  # noqa: ANN001
    app.add_exception_handler(GuaritaError, on_guarita_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
