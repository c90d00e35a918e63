"""Server-rendered pages: Jinja2 with the gov.br design system, translated with Babel."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from guarita.domain.errors import GuaritaError
from guarita.edge import csrf, i18n

# Every HTML edge (web, oidc, console) renders from the one template folder in web/.
TEMPLATES = Path(__file__).parents[1] / "web" / "templates"



def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )


# pt-BR environment (the source language); tests render macros through it.
env = _environment()
env.install_null_translations(newstyle=True)
env.globals["translate"] = i18n.translator(i18n.DEFAULT)  # run-time text (domain messages)


@lru_cache
def env_for(locale: str) -> Environment:
    """One environment per language, with Jinja's new-style gettext (``_("Olá, %(name)s", name=x)``)."""
    if locale == i18n.DEFAULT:
        return env
    localized = _environment()
    localized.install_gettext_translations(i18n.translations(locale), newstyle=True)
    localized.globals["translate"] = i18n.translator(locale)
    return localized


def locale_of(request: Request) -> str:
    cached = getattr(request.state, "locale", None)
    if cached:
        return cached
    locale = i18n.negotiate(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )
    request.state.locale = locale
    return locale


def render(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    runtime = request.app.state.runtime
    settings = runtime.settings
    locale = locale_of(request)
    tpl = env_for(locale).get_template(template)
    html = tpl.render(
        request=request,
        settings=settings,
        lang=i18n.HTML_LANG[locale],
        locale=locale,
        csrf_field=csrf.FIELD,
        csrf_token=csrf.token_for(request, settings.secret()),
        current=getattr(request.state, "session", None),
        when=lambda moment: i18n.when(moment, locale, settings.timezone),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    finish(request, response)
    return response


def finish(request: Request, response) -> None:  # noqa: ANN001
    """Cookies every page may need to set: the CSRF cookie and the remembered language."""
    settings = request.app.state.runtime.settings
    new_cookie = getattr(request.state, "new_csrf_cookie", None)
    if new_cookie:
        response.set_cookie(
            csrf.cookie_name(request), new_cookie, httponly=True, samesite="lax",
            secure=settings.secure_cookies, path="/",
        )
    chosen = i18n.normalize(request.query_params.get("lang"))
    if chosen:
        response.set_cookie(
            i18n.COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax",
            secure=settings.secure_cookies, path="/",
        )


def render_error_page(request: Request, error: GuaritaError) -> HTMLResponse:
    return render(request, "error.html", status_code=error.status, error=error)
