"""Pure ASGI middleware: request ids, JSON access logs, metrics and security headers.

Written against the ASGI interface rather than ``BaseHTTPMiddleware`` because it wraps every
request, including the hot OpenID endpoints, and adds no task switch per request.
"""

from __future__ import annotations

import secrets
import time

import structlog
from prometheus_client import Counter, Histogram

from guarita.config import Settings
from guarita.edge import form_action, frame_src

log = structlog.get_logger("guarita.http")

REQUESTS = Counter("guarita_http_requests_total", "HTTP requests", ["method", "status"])
LATENCY = Histogram(
    "guarita_http_request_seconds", "HTTP request latency",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# No inline script anywhere: every script is a file under /static (SECURITY.md).
CSP = (
    "default-src 'self'; script-src 'self'{extra}; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'{extra}; worker-src 'self' blob:; frame-src 'self'{extra}{frames}; "
    "form-action 'self'{forms}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class SecurityMiddleware:
    def __init__(self, app, settings: Settings):  # noqa: ANN001
        self.app = app
        self.settings = settings
        from guarita.methods.captcha import csp_origins

        # A third-party captcha (settings.captcha) needs its script and frames; ALTCHA needs none.
        self.extra = "".join(f" {origin}" for origin in csp_origins(settings))
        # Forms post to 'self'; a page of an authorization flow adds its flow's redirect
        # (web/form_action.py), so a form can never be pointed at an arbitrary host.
        headers = [
            (b"content-security-policy", self.csp([])),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if settings.production:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        self.headers = headers

    def csp(self, form_targets: list[str], frames: list[str] | None = None) -> bytes:
        forms = "".join(f" {source}" for source in form_targets)
        framed = "".join(f" {source}" for source in frames or ())
        return CSP.format(forms=forms, extra=self.extra, frames=framed).encode()

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500}
        path = scope.get("path", "")

        async def send_wrapper(message):  # noqa: ANN001
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.headers if h[0] not in names)
                targets = form_action.of_scope(scope)
                frames = frame_src.of_scope(scope)
                if targets or frames:
                    headers = [
                        (name, self.csp(targets, frames)
                         if name == b"content-security-policy" else value)
                        for name, value in headers
                    ]
                headers.append((b"x-request-id", request_id.encode()))
                if not path.startswith("/static/") and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            status = status_holder["status"]
            REQUESTS.labels(scope.get("method", ""), str(status)).inc()
            LATENCY.observe(elapsed)
            if not path.startswith(("/static/", "/metrics")):
                # The route's template, not the raw path: paths carry flow tokens
                # (/api/v1/recoveries/<token>/code) that must never reach a log.
                route = getattr(scope.get("route"), "path", None)
                log.info(
                    "request", request_id=request_id, method=scope.get("method"),
                    path=route or path, status=status, ms=round(elapsed * 1000, 1),
                )
