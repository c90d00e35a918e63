"""Redirect URI registration and matching (RFC 6749 §3.1.2, RFC 9700 §4.1.3, RFC 8252 §7.3).

Matching is exact string comparison, with one exception: for a native client
(``application_type=native``), a loopback IP literal with ``http`` matches on any port
(RFC 8252 §7.3), because the app picks a free port at run time. The exception is the native
apps' alone: a web client's loopback redirect is matched exactly like any other, so a program
listening on another local port of the person's machine cannot receive a web client's code.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")


def _without_port(uri: str) -> tuple[str, str] | None:
    parts = urlsplit(uri)
    if parts.scheme != "http":
        return None
    if "@" in parts.netloc:
        return None
    host = parts.netloc
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name not in LOOPBACK_HOSTS:
        return None
    return name, urlunsplit(("http", name, parts.path, parts.query, parts.fragment))


def matches(registered: list[str], requested: str, *, native: bool = False) -> bool:
    if requested in registered:
        return True
    if not native:
        return False
    wanted = _without_port(requested)
    if wanted is None:
        return False
    try:
        urlsplit(requested).port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    return any(_without_port(uri) == wanted for uri in registered)


def problem(uri: str, *, native: bool = False) -> str | None:
    """Why ``uri`` cannot be registered (pt-BR), or None.

    No fragment (§3.1.2); https, except http on loopback (development, native apps) and, for
    native apps, a private-use scheme in reverse-domain form (RFC 8252 §7.1).
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return f"endereço inválido: {uri}"
    if parts.fragment or "#" in uri:
        return f"o endereço não pode ter fragmento (#): {uri}"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost"):
        return None
    if (
        native
        and "." in parts.scheme
        and parts.scheme not in ("http", "https")
        and not parts.netloc
    ):
        return None
    return f"use https (ou http só em 127.0.0.1/localhost): {uri}"


# What a CSP source expression may contain (CSP3 §2.3.1); anything else is left out rather
# than let a stored URI add a directive to the header.
_CSP_SAFE = re.compile(
    r"[A-Za-z0-9.+\-]+:(//[A-Za-z0-9.\-\[\]:*]+(/[A-Za-z0-9._~:@%/\-]*)?)?"
)


def csp_source(uri: str, *, native: bool = False) -> str | None:
    """The CSP ``form-action`` source that lets a form's redirect reach ``uri``.

    ``https://portal.example.org/cb`` → itself (scheme, host, path; no query); a private-use
    scheme of a native app (RFC 8252 §7.1) → ``scheme:``; a native loopback redirect → its host
    on any port (``http://127.0.0.1:*``), matching ``matches``.
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and parts.hostname:
        host = parts.netloc.rsplit("@", 1)[-1]
        if native and _without_port(uri) is not None:
            host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            host += ":*"
        source = f"{parts.scheme}://{host}{parts.path}"
    elif parts.scheme and not parts.netloc:
        source = f"{parts.scheme}:"
    else:
        return None
    return source if _CSP_SAFE.fullmatch(source) else None
