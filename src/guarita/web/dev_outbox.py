"""``/dev/outbox`` and ``/dev/outbox.json``: every queued message, readable (DESIGN.md › Contracts).

Development and test only: ``routes.py`` includes this router only when ``settings.dev_routes``,
so in production the paths do not exist (404). People and browser tests read the one-time codes
here, which is why the whole text is shown, pre-wrapped, whatever the delivery status; on a
phone each message is a card, its code shown large and selectable with one tap.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from guarita.edge.render import render
from guarita.messaging.outbox import STATUS_LABELS, as_dict, list_messages

router = APIRouter(include_in_schema=False)

ToFilter = Query(None, max_length=254, description="Só mensagens para este destinatário.")
Limit = Query(100, ge=1, le=1000, description="Quantas mensagens, das mais novas.")


# A one-time code: 6 to 8 digits standing alone (SECURITY.md › One-time codes).
CODE = re.compile(r"(?<![\d/.:-])(\d{6,8})(?![\d/.:-])")


def code_of(text: str | None) -> str | None:
    """The code a message carries, shown large on the page so it is easy to read and copy."""
    found = CODE.search(text or "")
    return found.group(1) if found else None


async def _messages(request: Request, to: str | None, limit: int) -> list[dict[str, Any]]:
    async with request.app.state.runtime.db.transaction() as session:
        return [as_dict(m) for m in await list_messages(session, to=to or None, limit=limit)]


@router.get("/dev/outbox", response_class=HTMLResponse)
async def outbox_page(
    request: Request, to: str | None = ToFilter, limit: int = Limit
) -> HTMLResponse:
    messages = await _messages(request, to, limit)
    return render(
        request, "dev_outbox.html", messages=messages, to=to or "", limit=limit,
        status_labels=STATUS_LABELS, code_of=code_of,
    )


@router.get("/dev/outbox.json")
async def outbox_json(
    request: Request, to: str | None = ToFilter, limit: int = Limit
) -> JSONResponse:
    return JSONResponse(await _messages(request, to, limit))
