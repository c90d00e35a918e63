"""A page's own ``frame-src`` sources (CSP3 §6.1.4), read by ``web/middleware.py``.

Every page may frame 'self' only; the page a browser sees after signing out adds the
front-channel logout addresses of the apps it signs out of (Front-Channel Logout 1.0 §4), each
as exactly that address (scheme, host, port and path; CSP ignores the query), so the page can
frame nothing else.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi import Request

STATE_KEY = "frame_src"
# What a CSP source expression may contain (CSP3 §2.3.1); anything else is left out rather than
# let a stored URI add a directive to the header.
_SAFE = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~:@%/\-]*)?")


def source_of(uri: str) -> str | None:
    """``https://portal.example.org:8443/sair?x=1`` → ``https://portal.example.org:8443/sair``."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    source = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return source if _SAFE.fullmatch(source) else None


def allow(request: Request, uris: list[str]) -> list[str]:
    """Adds the frame sources of ``uris``; returns the URIs that may be framed (the others,
    which no CSP source can express safely, are left out of the page too)."""
    kept = list(getattr(request.state, STATE_KEY, None) or [])
    framed = []
    for uri in uris:
        source = source_of(uri)
        if source is None:
            continue
        framed.append(uri)
        if source not in kept:
            kept.append(source)
    setattr(request.state, STATE_KEY, kept)
    return framed


def of_scope(scope) -> list[str]:  # noqa: ANN001 - an ASGI scope
    return list(scope.get("state", {}).get(STATE_KEY) or [])
