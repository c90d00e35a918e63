"""CSRF protection for every state-changing form (SECURITY.md › Sessions and cookies).

Signed double-submit token (OWASP CSRF cheat sheet): a random value lives in an HttpOnly cookie;
forms carry ``HMAC(secret, value)``. A cross-site page can neither read the cookie nor compute
the HMAC. Signed-in pages use the same mechanism; the session's own token is bound in too, so a
token from before sign-in stops working after it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from guarita.domain.errors import ErrorCode, GuaritaError

COOKIE = "guarita_csrf"
# Under https the cookie is ``__Host-`` prefixed (RFC 6265bis §4.1.3.2): Secure, Path=/ and no
# Domain, so a sibling subdomain cannot plant a known value (cookie tossing) and pair it with
# a token it computed elsewhere.
SECURE_COOKIE = "__Host-guarita_csrf"
FIELD = "csrf_token"


def cookie_name(request: Request) -> str:
    return SECURE_COOKIE if request.app.state.runtime.settings.secure_cookies else COOKIE


def cookie_of(request: Request) -> str | None:
    """The CSRF cookie the browser sent (only the one of the current scheme counts)."""
    return request.cookies.get(cookie_name(request))


def _sign(secret: bytes, value: str, binding: str) -> str:
    return hmac.new(secret, f"{value}|{binding}".encode(), hashlib.sha256).hexdigest()


def cookie_value(request: Request) -> str:
    """The browser's CSRF cookie, created on first use for this response."""
    value = cookie_of(request) or getattr(request.state, "new_csrf_cookie", None)
    if not value or len(value) > 64:
        value = secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = value
    return value


def _binding(request: Request) -> str:
    session = getattr(request.state, "session", None)
    return session.csrf_token if session is not None else ""


def token_for(request: Request, secret: bytes, binding: str | None = None) -> str:
    """The form token; ``binding`` ties it to a principal other than the person's session (the
    support desk binds its staff session), so one door's token is refused by the other."""
    return _sign(secret, cookie_value(request), _binding(request) if binding is None else binding)


def check(request: Request, secret: bytes, submitted: str | None, binding: str | None = None) -> None:
    value = cookie_of(request)
    if not value or not submitted:
        raise GuaritaError(ErrorCode.CSRF_FAILED)
    expected = _sign(secret, value, _binding(request) if binding is None else binding)
    if not hmac.compare_digest(expected, submitted):
        raise GuaritaError(ErrorCode.CSRF_FAILED)
