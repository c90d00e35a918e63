"""A page's own ``form-action`` sources (CSP3 §6.3.1), read by ``web/middleware.py``.

Every page allows its forms to go to 'self' only; a page of an authorization flow adds the
redirect of that flow (``oidc/form_targets.py``), because the form's answer redirects there; a
page with a form that leads to an outside provider (a bank, gov.br) adds that provider's origin
(``services/upstreams.origins``), for the same reason.
"""

from __future__ import annotations

from fastapi import Request

STATE_KEY = "form_action"


def allow(request: Request, sources: list[str]) -> None:
    """Adds ``sources`` to the page's own (a sign-in page may resume a flow *and* offer gov.br)."""
    if sources:
        kept = list(getattr(request.state, STATE_KEY, None) or [])
        setattr(request.state, STATE_KEY, kept + [s for s in sources if s not in kept])


def of_scope(scope) -> list[str]:  # noqa: ANN001 - an ASGI scope
    return list(scope.get("state", {}).get(STATE_KEY) or [])


async def allow_flow_redirect(request: Request, next_path: str | None) -> None:
    """A page whose form resumes an authorization flow (``next`` is the provider's resume
    path) also allows that flow's redirect: the form's answer redirects to the resume path,
    which redirects to the client, and CSP checks ``form-action`` on every redirect of the
    chain (CSP3 §6.3.1). The provider answers through ``app.state.flow_form_targets``
    (``oidc/form_targets.py``), so that the web pages do not import it."""
    resolver = getattr(request.app.state, "flow_form_targets", None)
    if resolver is not None:
        allow(request, await resolver(request, next_path))
