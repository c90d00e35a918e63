"""Validação pelo banco for the mobile app (``docs/upstreams.md`` › API).

``POST /api/v1/recoveries/{id}/upstream {provider, return_uri?}`` answers the bank's
``authorization_url``. The app opens it in the system browser — never a WebView, where the
person could not tell the bank's page from an imitation and the bank's own session is missing
(RFC 8252 §8.12). The bank sends the browser to ``/upstream/callback``, which moves the recovery
to ``verified`` and, when ``return_uri`` is a redirect URI registered for a native client, sends
the browser back to the app with the new ``recovery_id``. Without ``return_uri`` the caller is a
web page: the answer sets the trip's cookie and only that browser's callback counts
(``edge/trip_cookie.py``), so an app must always name its ``return_uri``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from guarita.edge import trip_cookie
from guarita.edge.auth import request_context, runtime_of
from guarita.edge.envelope import error_responses
from guarita.services import upstream_recovery

router = APIRouter(prefix="/api/v1", tags=["validação pelo banco"])


class UpstreamStartIn(BaseModel):
    provider: str = Field(max_length=32, description="O id do banco na lista `methods`.")
    return_uri: str | None = Field(default=None, max_length=512, description=(
        "Endereço de retorno do aplicativo, cadastrado no cliente nativo."))


class UpstreamStartOut(BaseModel):
    authorization_url: str


@router.post("/recoveries/{recovery_id}/upstream", status_code=201,
             response_model=UpstreamStartOut, summary="Começar a validação pelo banco",
             responses=error_responses(409, 410, 422, 429, 502))
async def start(recovery_id: str, body: UpstreamStartIn, request: Request,
                response: Response) -> UpstreamStartOut:
    response.headers["Cache-Control"] = "no-store"
    browser = trip_cookie.new_secret()
    url = await upstream_recovery.start(runtime_of(request), recovery_id, body.provider,
                                        request_context(request), return_uri=body.return_uri,
                                        browser=browser)
    if not body.return_uri:
        # A web page calling the API: the trip is bound to this browser, as the page's own is.
        trip_cookie.attach(response, runtime_of(request).settings, browser)
    return UpstreamStartOut(authorization_url=url)
