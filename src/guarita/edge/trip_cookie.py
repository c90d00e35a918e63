"""The cookie that binds a trip to an outside provider (a bank, gov.br) to the browser that
started it (RFC 9700 §4.7.1; ``docs/upstreams.md`` › Browser binding).

The trip keeps only a digest of the secret (``services.upstream_flow.check_browser``); the
browser keeps the secret in this cookie, sent back only to the callback's path.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from guarita.config import Settings
from guarita.services import upstreams

NAME = "guarita_upstream_trip"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def attach(response: Response, settings: Settings, secret: str) -> None:
    # SameSite=Lax: sent on the top-level GET back from the provider, never on a cross-site POST.
    response.set_cookie(NAME, secret, httponly=True, samesite="lax",
                        secure=settings.secure_cookies, path=upstreams.CALLBACK_PATH,
                        max_age=settings.upstream.request_minutes * 60)


def of(request: Request) -> str:
    return request.cookies.get(NAME, "")


def clear(response: Response) -> None:
    response.delete_cookie(NAME, path=upstreams.CALLBACK_PATH)
