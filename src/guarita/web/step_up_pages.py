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
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.upstreams import UpstreamKind
from guarita.edge import csrf, form_action, forms
from guarita.edge.auth import load_session, request_context, runtime_of, safe_next
from guarita.edge.errors import envelope
from guarita.edge.render import finish, render
from guarita.edge.uploads import read_frames
from guarita.services import face_proofing, step_up, upstream_account, upstreams
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


# -- Pelo seu rosto ---------------------------------------------------------------------------
FACE = f"{BASE}/rosto"


def _json_error(request: Request, error: GuaritaError) -> JSONResponse:
    response = JSONResponse(envelope(error), status_code=error.status)
    finish(request, response)
    return response


async def _face_ticket(request: Request) -> tuple[SessionInfo | None, step_up.StepUp | None,
                                                  GuaritaError | None]:
    """The session and the live ticket of the face pages (``?pedido=``), or the error."""
    current = await load_session(request)
    if current is None:
        return None, None, GuaritaError(ErrorCode.UNAUTHENTICATED)
    try:
        found = await step_up.load(runtime_of(request), request.query_params.get("pedido", "")[:64],
                                   current.account_id)
    except GuaritaError as error:
        return current, None, error
    if not found.options.face:
        return current, found, GuaritaError(ErrorCode.METHOD_UNAVAILABLE)
    return current, found, None


@router.get(FACE, response_class=HTMLResponse)
async def face_page(request: Request) -> Response:
    current, found, error = await _face_ticket(request)
    ticket = request.query_params.get("pedido", "")[:64]
    if current is None:
        return _to_sign_in(request, ticket)
    if found is None:
        return _expired(request, error)
    if error is not None:
        return _redirect(request, step_up.page_url(ticket))
    query = "?" + urlencode({"pedido": ticket})
    response = render(request, "step_up/face.html", back_url=step_up.page_url(ticket),
                      challenge_url=f"{FACE}/desafio{query}", submit_url=FACE + query,
                      error=None)
    # Every other page forbids the camera (Permissions-Policy: camera=()); this one needs it.
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    return response


@router.post(f"{FACE}/desafio")
async def face_challenge(request: Request) -> Response:
    current, found, error = await _face_ticket(request)
    try:
        await forms.read(request)
        if error is not None:
            raise error
        made = await face_proofing.challenge(runtime_of(request), current.account_id,
                                             request_context(request))
    except GuaritaError as problem:
        return _json_error(request, problem)
    response = JSONResponse({"challenge_id": made.challenge_id, "movements": made.movements,
                             "instructions": made.instructions,
                             "expires_at": made.expires_at.isoformat(),
                             "seconds_per_movement": made.seconds_per_movement},
                            headers={"Cache-Control": "no-store"})
    finish(request, response)
    return response


@router.post(FACE)
async def face_submit(request: Request) -> Response:
    current, found, error = await _face_ticket(request)
    runtime = runtime_of(request)
    try:
        challenge_id, frames, fields = await read_frames(request)
        csrf.check(request, runtime.settings.secret(), fields.get(csrf.FIELD))
        if error is not None:
            raise error
        await face_proofing.verify(runtime, current.account_id, challenge_id, frames,
                                   request_context(request))
    except GuaritaError as problem:
        return _json_error(request, problem)
    response = JSONResponse({"next": step_up.page_url(found.ticket, after=True)})
    finish(request, response)
    return response
