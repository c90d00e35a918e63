"""Quem recebeu meus dados, in Minha conta (docs/privacy.md): which app received which of the
person's data and when, on what legal basis, and every consent given and taken back. Thin:
``services/data_recipients.py`` reads; the page only words it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from guarita.edge.auth import load_session, runtime_of
from guarita.edge.render import finish, locale_of, render
from guarita.services import data_recipients

router = APIRouter(include_in_schema=False)
PAGE = "/conta/quem-recebeu-meus-dados"
# "O Portal recebeu … em 03/12/2026 às 14:05": the day and the time apart, as people say it.
_DAY = {"en": "MMM d, yyyy"}
_TIME = {"en": "h:mm a"}


@router.get(PAGE, response_class=HTMLResponse)
async def page(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        response = RedirectResponse("/entrar?next=" + PAGE, status_code=303)
        finish(request, response)
        return response
    runtime = runtime_of(request)
    locale = locale_of(request)
    zone = ZoneInfo(runtime.settings.timezone)
    babel_locale = "pt_BR" if locale not in ("en", "es") else locale

    def on_day(moment: datetime) -> str:
        return format_datetime(moment, _DAY.get(locale, "dd/MM/yyyy"), tzinfo=zone,
                               locale=babel_locale)

    def at_time(moment: datetime) -> str:
        return format_datetime(moment, _TIME.get(locale, "HH:mm"), tzinfo=zone,
                               locale=babel_locale)

    return render(
        request,
        "data_recipients.html",
        recipients=await data_recipients.recipients(runtime, current.account_id),
        ledger=await data_recipients.consent_ledger(runtime, current.account_id),
        on_day=on_day,
        at_time=at_time,
    )
