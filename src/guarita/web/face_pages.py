"""Validação facial as pages (``docs/face.md`` › Pages): a guided capture at phone size.

The page explains the camera first and waits for a big "Ligar a câmera" button; the script
(``static/js/face-capture.js``, no inline script: CSP) asks this page for a challenge, films the
movements and sends the frames here. Answers to the script are JSON; the recovery token stays in
its HttpOnly cookie and is replaced by the new one when the face passes, as an accepted code.
Without JavaScript or a camera the page offers the other ways and the central.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.edge import csrf, forms
from guarita.edge.auth import load_session, request_context, runtime_of
from guarita.edge.errors import envelope
from guarita.edge.render import finish
from guarita.edge.uploads import read_frames
from guarita.services import face_recovery, recovery
from guarita.web.recovery_pages import BASE, COOKIE, _go, _page, _restart, _token

router = APIRouter(include_in_schema=False)
PAGE = f"{BASE}/rosto"


def _json_error(request: Request, error: GuaritaError) -> JSONResponse:
    response = JSONResponse(envelope(error), status_code=error.status)
    finish(request, response)
    return response


@router.get(PAGE, response_class=HTMLResponse)
async def capture_page(request: Request) -> Response:
    await load_session(request)
    runtime = runtime_of(request)
    if "face" not in runtime.settings.recovery.methods:
        return _restart(request)
    try:
        status = await recovery.status(runtime, _token(request) or "")
    except GuaritaError:
        return _restart(request)
    if status.state not in ("choose_method", "code_sent"):
        return _restart(request)
    return _with_camera(_page(request, "recovery/face.html", review_sent=False))


def _with_camera(response: Response) -> Response:
    """Every other page forbids the camera (Permissions-Policy: camera=()); this one needs it,
    for this origin only."""
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    return response


@router.post(f"{PAGE}/desafio")
async def new_challenge(request: Request) -> Response:
    await load_session(request)
    try:
        await forms.read(request)
        found = await face_recovery.challenge(runtime_of(request), _token(request) or "",
                                              request_context(request))
    except GuaritaError as error:
        return _json_error(request, error)
    response = JSONResponse({"challenge_id": found.challenge_id, "movements": found.movements,
                             "instructions": found.instructions,
                             "expires_at": found.expires_at.isoformat(),
                             "seconds_per_movement": found.seconds_per_movement},
                            headers={"Cache-Control": "no-store"})
    finish(request, response)
    return response


@router.post(PAGE)
async def submit_frames(request: Request) -> Response:
    await load_session(request)
    runtime = runtime_of(request)
    try:
        challenge_id, frames, fields = await read_frames(request)
        csrf.check(request, runtime.settings.secret(), fields.get(csrf.FIELD))
        token, _, state = await face_recovery.verify(runtime, _token(request) or "",
                                                     challenge_id, frames,
                                                     request_context(request))
    except GuaritaError as error:
        return _json_error(request, error)
    # With a second factor still to prove, the recovery goes on to it, as after a code.
    target = "nova-senha" if state == "verified" else "segunda-etapa"
    response = JSONResponse({"next": f"{BASE}/{target}"})
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax",
                        secure=runtime.settings.secure_cookies, path=BASE,
                        max_age=runtime.settings.recovery.flow_minutes * 60)
    finish(request, response)
    return response


@router.post(f"{PAGE}/revisao", response_class=HTMLResponse)
async def ask_review(request: Request) -> Response:
    """LGPD art. 20: a person asks a human to review the automated refusal."""
    await load_session(request)
    await forms.read(request)
    try:
        await face_recovery.request_review(runtime_of(request), _token(request) or "",
                                           request_context(request))
    except GuaritaError as error:
        if error.code is ErrorCode.RECOVERY_EXPIRED:
            return _restart(request)
        return _with_camera(_page(request, "recovery/face.html", error=error, review_sent=False))
    return _page(request, "recovery/face.html", review_sent=True)


__all__ = ["router", "_go"]
