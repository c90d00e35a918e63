"""Minha conta › Meus dados (docs/privacy.md): what Guarita holds about the person, the export
behind a password confirmation, and the download link. Thin: ``services/my_data.py`` and
``services/data_export.py`` decide."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from guarita.domain.errors import GuaritaError
from guarita.edge import forms
from guarita.edge.auth import load_session, request_context, runtime_of
from guarita.edge.render import finish, render
from guarita.services import data_export, my_data, privacy_requests, sessions

router = APIRouter(include_in_schema=False)
PAGE = "/conta/meus-dados"


def _redirect(request: Request, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    finish(request, response)
    return response


async def page(request: Request, current: sessions.SessionInfo, *, status_code: int = 200,
               **extra) -> Response:  # noqa: ANN003
    """The page, with whatever a form adds (a link made, errors under a form)."""
    runtime = runtime_of(request)
    extra.setdefault("errors", {})
    extra.setdefault("form", "")
    extra.setdefault("values", {})
    return render(request, "meus_dados.html", status_code=status_code,
                  data=await my_data.collect(runtime, current.account_id),
                  requests=await privacy_requests.of_account(runtime, current.account_id),
                  link_minutes=data_export.LINK_MINUTES, moment=datetime.fromisoformat,
                  day=lambda iso: date.fromisoformat(iso).strftime("%d/%m/%Y"), **extra)


@router.get(PAGE, response_class=HTMLResponse)
async def my_data_page(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _redirect(request, f"/entrar?next={PAGE}")
    return await page(request, current)


@router.post(f"{PAGE}/exportar", response_class=HTMLResponse)
async def export(request: Request) -> Response:
    """The password again, then a link valid 15 minutes for one download."""
    current = await load_session(request)
    values = await forms.read(request)
    if current is None:
        return _redirect(request, f"/entrar?next={PAGE}")
    runtime = runtime_of(request)
    try:
        link = await data_export.create_link(runtime, current, values.get("password", ""),
                                             values.get("format", ""), request_context(request))
    except GuaritaError as error:
        return await page(request, current, status_code=error.status, form="export", error=error,
                          errors=forms.field_errors(error),
                          values={"format": values.get("format", "")})
    return await page(request, current, form="export", link=link,
                      link_url=f"{PAGE}/arquivo/{link.token}")


@router.get(PAGE + "/arquivo/{token}")
async def download(request: Request, token: str) -> Response:
    """The file, once. The path carries only the link's random token (the access log keeps the
    route's template, not the path); the person's session must be the link's account."""
    current = await load_session(request)
    if current is None:
        return _redirect(request, f"/entrar?next={PAGE}")
    try:
        found = await data_export.redeem(runtime_of(request), current.account_id, token,
                                         request_context(request))
    except GuaritaError as error:
        return await page(request, current, status_code=error.status, form="export", error=error)
    return Response(found.content, media_type=found.media_type, headers={
        "content-disposition": f'attachment; filename="{found.filename}"',
        "cache-control": "no-store",
    })


@router.post(f"{PAGE}/pedidos", response_class=HTMLResponse)
async def file_request(request: Request) -> Response:
    """A correction (art. 18 III) or deletion (art. 18 IV, VI) request, to the desk's queue."""
    current = await load_session(request)
    values = await forms.read(request)
    if current is None:
        return _redirect(request, f"/entrar?next={PAGE}")
    kind = values.get("kind", "")
    try:
        await privacy_requests.file(runtime_of(request), current.account_id, kind,
                                    what=values.get("what"), reason=values.get("reason"),
                                    context=request_context(request))
    except GuaritaError as error:
        return await page(request, current, status_code=error.status, form=kind or "correction",
                          error=error, errors=forms.field_errors(error),
                          values={k: values.get(k, "") for k in ("what", "reason")})
    return _redirect(request, f"{PAGE}?pedido-registrado=1#pedidos")
