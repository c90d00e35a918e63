""" "Aplicativos conectados" under /conta: the applications a person signed in to with Guarita,
what each may know, and a button to disconnect each (the provider's consent and grants)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from guarita.edge import forms
from guarita.edge.auth import load_session, request_context, runtime_of
from guarita.edge.render import finish, render
from guarita.oidc import connected_apps

router = APIRouter(include_in_schema=False)
PATH = "/conta/aplicativos"


def _redirect(request: Request, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    finish(request, response)
    return response


@router.get(PATH, response_class=HTMLResponse)
async def list_apps(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _redirect(request, "/entrar?next=" + PATH)
    runtime = runtime_of(request)
    apps = await connected_apps.of_account(runtime, current.account_id)
    return render(
        request,
        "oidc/connected_apps.html",
        apps=apps,
        disconnected="desconectado" in request.query_params,
        local_time=runtime.settings.local_time,
    )


@router.post(PATH + "/desconectar")
async def disconnect(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _redirect(request, "/entrar?next=" + PATH)
    values = await forms.read(request)
    await connected_apps.disconnect(
        runtime_of(request),
        current.account_id,
        values.get("client_id", "")[:64],
        request_context(request),
    )
    return _redirect(request, PATH + "?desconectado=1")
