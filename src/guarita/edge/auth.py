"""The session cookie and the request context, shared by every HTML route.

Cookie ``__Host-guarita_session`` (Secure, HttpOnly, SameSite=Lax, Path=/, no Domain) when the
base URL is https; over plain http in development a name without the prefix and without Secure,
since browsers refuse ``__Host-`` cookies that are not Secure (SECURITY.md › Sessions and cookies).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from guarita.config import Settings
from guarita.runtime import Runtime
from guarita.services import sessions
from guarita.storage.audit import RequestContext


def cookie_name(settings: Settings) -> str:
    return sessions.cookie_name(settings.session, secure=settings.secure_cookies)


def request_context(request: Request) -> RequestContext:
    return RequestContext(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


async def load_session(request: Request) -> sessions.SessionInfo | None:
    """Reads the cookie once per request and keeps the result on ``request.state``."""
    if hasattr(request.state, "session"):
        return request.state.session
    runtime = runtime_of(request)
    token = request.cookies.get(cookie_name(runtime.settings))
    info = None
    if token:
        async with runtime.db.transaction() as session:
            info = await sessions.load(session, token, runtime.settings.session)
    request.state.session = info
    return info


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    # No Max-Age: the cookie lives as long as the browser; the server decides expiry.
    response.set_cookie(
        cookie_name(settings), token, httponly=True, samesite="lax",
        secure=settings.secure_cookies, path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(cookie_name(settings), path="/", secure=settings.secure_cookies,
                           httponly=True, samesite="lax")


def safe_next(target: str | None, default: str = "/conta") -> str:
    """Only a path on this site: no scheme, no host, no ``//`` (open redirect, RFC 9700 §4.11)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
