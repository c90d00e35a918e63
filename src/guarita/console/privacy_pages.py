"""The desk's queue of LGPD requests at ``/atendimento/pedidos-lgpd`` (docs/privacy.md ›
Pedidos): supervisors read each correction and deletion request and decide it with a reason.
Thin: ``services/privacy_requests.py`` decides, audits, erases and tells the person."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from guarita.console.calls import call
from guarita.console.web import PREFIX, read_form, redirect, render, route
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.roles import Permission
from guarita.edge.forms import field_errors
from guarita.services import privacy_requests
from guarita.services.support import labels

QUEUE = "/pedidos-lgpd"


async def _queue_page(request: Request, *, status_code: int = 200, **extra) -> Response:  # noqa: ANN003
    extra.setdefault("errors", {})
    extra.setdefault("failed", None)
    extra.setdefault("values", {})
    return render(
        request, "console/pedidos_lgpd.html", status_code=status_code,
        open_requests=await call(request, privacy_requests.queue),
        decided=[r for r in await call(request, privacy_requests.queue, include_decided=True)
                 if r.status != "open"][:30],
        kinds=labels.PRIVACY_KINDS, statuses=labels.PRIVACY_STATUSES,
        done=request.query_params.get("feito"), **extra)


@route("GET", QUEUE, Permission.PRIVACY_REQUESTS)
async def queue(request: Request) -> Response:
    return await _queue_page(request)


@route("POST", QUEUE + "/{request_id}", Permission.PRIVACY_REQUESTS)
async def decide(request: Request, request_id: str) -> Response:
    values = await read_form(request)
    try:
        decided = await call(request, privacy_requests.decide, request_id[:64],
                             decision=values.get("decision", ""),
                             reason=values.get("decision_reason", ""))
    except GuaritaError as error:
        if error.code is ErrorCode.NOT_FOUND:
            raise
        return await _queue_page(request, status_code=error.status, error=error,
                                 errors=field_errors(error), failed=request_id,
                                 values={"decision_reason": values.get("decision_reason", "")})
    done = ("excluida" if decided.kind == "deletion" and decided.status == "approved"
            else decided.status)
    return redirect(request, f"{PREFIX}{QUEUE}?feito={done}")
