"""A page's own ``form-action`` sources (CSP3 §6.3.1), read by ``web/middleware.py``.

Every page allows its forms to go to 'self' only; a page of an authorization flow adds the
redirect of that flow (``oidc/form_targets.py``), because the form's answer redirects there.
"""

from __future__ import annotations

from fastapi import Request

STATE_KEY = "form_action"


def allow(request: Request, sources: list[str]) -> None:
    if sources:
        setattr(request.state, STATE_KEY, list(sources))


def of_scope(scope) -> list[str]:  # noqa: ANN001 - an ASGI scope
    return list(scope.get("state", {}).get(STATE_KEY) or [])
