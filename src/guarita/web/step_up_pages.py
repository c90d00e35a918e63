""""Para continuar, confirme sua identidade" as pages (``docs/trust-levels.md`` › Step-up).

``GET /confirmar-identidade?pedido=<ticket>`` lists the methods that would raise the level; a
bank button posts to ``/confirmar-identidade/banco`` and the proofing trip of Minha conta comes
back to the page (``?depois=1``), as does the facial validation
(``/confirmar-identidade/rosto``). The page reads the level again each time: met, it spends the
ticket and returns to the path kept with it on the server; not met after a method, it says so
and offers the rest. Whoever opens the ticket must be signed in as its account.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.upstreams import UpstreamKind
from guarita.edge import form_action, forms
from guarita.edge.auth import load_session, request_context, runtime_of, safe_next
from guarita.edge.render import finish, render
from guarita.services import step_up, upstream_account, upstreams
from guarita.services.sessions import SessionInfo

router = APIRouter(include_in_schema=False)
BASE = step_up.PAGE_PATH


def _redirect(request: Request, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    finish(request, response)
    return response


def _to_sign_in(request: Request, ticket: str) -> RedirectResponse:
    return _redirect(request, "/entrar?" + urlencode({"next": step_up.page_url(ticket)}))


def _expired(request: Request, error: GuaritaError) -> HTMLResponse:
    return render(request, "error.html", status_code=error.status, error=error)


async def page(request: Request, current: SessionInfo, ticket: str, *, after: bool = False,
               error: GuaritaError | None = None) -> Response:
    """The page of ``ticket``, or the way back when its need is met."""
    runtime = runtime_of(request)
    try:
        found = await step_up.load(runtime, ticket, current.account_id)
    except GuaritaError as problem:
        return _expired(request, problem)
    if found.met:
        await step_up.finish(runtime, ticket)
        return _redirect(request, safe_next(found.return_to, "/conta"))
    if found.options.banks:
        form_action.allow(request, await upstreams.origins(runtime, UpstreamKind.BANK))
    return render(request, "step_up/confirm.html", status_code=error.status if error else 200,
                  step=found, after=after, error=error, base=BASE,
                  cancel_url=safe_next(found.cancel_to, "/conta"))


@router.get(BASE, response_class=HTMLResponse)
async def confirm_identity(request: Request) -> Response:
    current = await load_session(request)
    ticket = request.query_params.get("pedido", "")[:64]
    if current is None:
        return _to_sign_in(request, ticket)
    return await page(request, current, ticket, after=request.query_params.get("depois") == "1")


@router.post(f"{BASE}/banco", response_class=HTMLResponse)
async def with_bank(request: Request) -> Response:
    current = await load_session(request)
    values = await forms.read(request)
    ticket = values.get("pedido", "")[:64]
    if current is None:
        return _to_sign_in(request, ticket)
    runtime = runtime_of(request)
    try:
        found = await step_up.load(runtime, ticket, current.account_id)
    except GuaritaError as problem:
        return _expired(request, problem)
    if not any(b["id"] == values.get("provider") for b in found.options.banks):
        return await page(request, current, ticket,
                          error=GuaritaError(ErrorCode.METHOD_UNAVAILABLE, field="provider"))
    try:
        url = await upstream_account.start(runtime, current.account_id,
                                           values.get("provider", ""), request_context(request),
                                           step_up=ticket)
    except GuaritaError as error:
        return await page(request, current, ticket, error=error)
    return _redirect(request, url)
