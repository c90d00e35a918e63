"""What every console page shares: the staff cookie, the role check, CSRF and rendering.

- Cookie ``__Host-guarita_staff`` (Secure, HttpOnly, SameSite=Strict, Path=/) over https,
  ``guarita_staff`` over plain http in development: separate from the beneficiary session cookie,
  so signing in at the desk never signs anyone in as a beneficiary, or the other way round.
  Strict because nothing outside the console links into it.
- Every route is declared with the permission it needs (:func:`route`); the check runs as a
  route dependency *before* the handler, so a handler cannot forget it. A missing or expired
  session on a page redirects to the sign-in page; a signed-in person without the permission gets
  ``forbidden`` (403).
- CSRF: the signed double-submit token of ``edge/csrf.py`` (same cookie), bound to the staff
  session's own token so a token from before sign-in, or from the beneficiary side, is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from guarita.config import Settings
from guarita.console.calls import keep_actor
from guarita.domain.actors import Actor
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.roles import ROLE_LABELS, Permission, Role
from guarita.edge import csrf, i18n
from guarita.edge.render import env_for, finish, locale_of
from guarita.services import staff as staff_service
from guarita.services.support import labels

PREFIX = "/atendimento"
PUBLIC = "public"  # sign-in and enrolment pages
SIGNED_IN = "signed_in"  # any staff member (sign-out)
MAX_FIELD = 1024

# (method, path) → what it needs; filled by route(); read by the role test.
ROUTES: dict[tuple[str, str], Permission | str] = {}


def cookie_name(settings: Settings) -> str:
    return "__Host-guarita_staff" if settings.secure_cookies else "guarita_staff"


def set_staff_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        cookie_name(settings),
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_staff_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_name(settings),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )


class SignInRequired(Exception):
    def __init__(self, target: str):
        super().__init__(target)
        self.target = target


async def current_staff(request: Request) -> Actor | None:
    if hasattr(request.state, "staff"):
        return request.state.staff
    runtime = request.app.state.runtime
    actor = await staff_service.load_session(runtime, request.cookies.get(cookie_name(runtime.settings)))
    request.state.staff = actor
    return actor


def _require(permission: Permission | str) -> Callable[[Request], Any]:
    async def check(request: Request) -> None:
        actor = await current_staff(request)
        if permission == PUBLIC:
            return
        if actor is None:
            if request.method == "GET":
                raise SignInRequired(request.url.path)
            raise GuaritaError(
                ErrorCode.UNAUTHENTICATED,
                message=Message.STAFF_SESSION_ENDED,
            )
        if permission != SIGNED_IN and not actor.can(permission):  # type: ignore[arg-type]
            raise GuaritaError(ErrorCode.FORBIDDEN)
        keep_actor(request, actor)

    return check


class ConsoleRoute(APIRoute):
    """Turns :class:`SignInRequired` into a redirect to the console's sign-in page."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                response = RedirectResponse(f"{PREFIX}/entrar?next={quote(exc.target, safe='/')}", status_code=303)
                clear_staff_cookie(response, request.app.state.runtime.settings)
                return response

        return wrapped


router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def route(method: str, path: str, permission: Permission | str):  # noqa: ANN201
    """Declares a console route and the permission it needs, and enforces it."""
    full = PREFIX + path
    ROUTES[(method, full)] = permission
    return router.api_route(
        full,
        methods=[method],
        response_class=HTMLResponse,
        dependencies=[Depends(_require(permission))],
    )


# --- CSRF --------------------------------------------------------------------------------------


def _binding(request: Request) -> str:
    actor = getattr(request.state, "staff", None)
    return f"console|{actor.csrf_token if actor and actor.csrf_token else ''}"


def csrf_token(request: Request) -> str:
    """The people's signed double-submit token (``edge/csrf.py``), bound to the staff session."""
    return csrf.token_for(request, request.app.state.runtime.settings.secret(), _binding(request))


def check_csrf(request: Request, submitted: str | None) -> None:
    csrf.check(request, request.app.state.runtime.settings.secret(), submitted, _binding(request))


async def read_form(request: Request) -> dict[str, str]:
    """The submitted fields (first value of each, cut at 1 KiB), after the CSRF check."""
    form = await request.form()
    values = {k: (v if isinstance(v, str) else "")[:MAX_FIELD] for k, v in form.items()}
    check_csrf(request, values.get(csrf.FIELD))
    return values


# --- rendering ---------------------------------------------------------------------------------


def page_translator(request: Request) -> Callable[[Any], Any]:
    """``translate()`` in the request's language, for text drawn in Python (the charts)."""
    return env_for(locale_of(request)).globals["translate"]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Like ``edge.render.render`` but with the console's CSRF token and the staff member.

    Every console form page reads ``errors`` and ``values``; they default to empty.
    """
    context = {"errors": {}, "values": {}, **context}
    runtime = request.app.state.runtime
    settings = runtime.settings
    # Written in pt-BR and translated like the people's pages: the language chosen with the
    # switch (or the browser's), every label from Python through translate() (docs/pages-and-i18n.md).
    locale = locale_of(request)
    actor = getattr(request.state, "staff", None)
    environment = env_for(locale)
    translate = environment.globals["translate"]
    html = (
        environment
        .get_template(template)
        .render(
            request=request,
            settings=settings,
            lang=i18n.HTML_LANG[locale],
            locale=locale,
            csrf_field=csrf.FIELD,
            csrf_token=csrf_token(request),
            current=None,  # the beneficiary header ("Minha conta") never shows in the console
            staff=actor,
            role_labels=ROLE_LABELS,
            Permission=Permission,
            Role=Role,
            local_time=lambda moment: i18n.when(moment, locale, settings.timezone),
            when=lambda moment: i18n.when(moment, locale, settings.timezone),
            factor_names=lambda names: ", ".join(translate(n) for n in names),
            outcome_label=labels.outcome_label,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    finish(request, response)
    return response


def redirect(request: Request, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    finish(request, response)
    return response


def safe_next(target: str | None) -> str:
    """Only a console path (open redirects, RFC 9700 §4.11)."""
    if not target or not target.startswith(PREFIX) or target.startswith("//") or "\\" in target or "://" in target:
        return PREFIX
    return target
